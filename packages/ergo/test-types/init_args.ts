// Type-level tests: every spawn-like API asks for a behaviour's init arguments exactly as
// node.spawn does (issue 48); an actor that declares no init takes no arguments, and a
// supervisor child, a pool's workers and an application member with args are checked against
// their init: written with childSpec, poolOptions and memberSpec, never as plain literals (issue 63,
// item 7). Compiled by `npm run check:types` (scripts/check-types.mjs) (tsc -p test-types) with
// typed.ts; each `@ts-expect-error` line must be an error (an unused one fails the test). The
// cases without the directive must compile. Nothing here runs.

import {
  Actor,
  LogLevel,
  createCronActionRemoteSpawn,
  createCronActionSpawn,
  memberSpec,
  SupervisorType,
  WebWorker,
  type ApplicationMemberSpec,
  type ApplicationSpec,
  type CheckedMemberSpec,
  type Node,
  type PID,
} from 'ergo-ts';
import {
  childSpec,
  Pool,
  poolOptions,
  Supervisor,
  type PoolOptions,
  type SupervisorChildSpec,
  type SupervisorSpec,
} from 'ergo-ts/act';
import { ClusterPool, type ClusterNode } from 'ergo-ts/cluster';
import { spawnTest } from 'ergo-ts/testing';

declare const node: Node;
declare const cluster: ClusterNode;

/** init needs two arguments. */
class Cart extends Actor {
  override init(entities: string, crash: boolean): void {
    void [entities, crash];
  }
}
/** init has none (Actor's own init). */
class Plain extends Actor {}
/** init's argument is optional. */
class Optional extends Actor {
  override init(start?: number): void {
    void start;
  }
}
/** init takes anything (its own rest parameter, not Actor's). */
class Variadic extends Actor {
  override init(...args: unknown[]): void {
    void args;
  }
}
/** No init of its own: Cart's. */
class SubCart extends Cart {}
/** A web worker with no init of its own (WebWorker's). */
class Page extends WebWorker {}

// --- node.spawn: the reference ---------------------------------------------------------------------

export async function reference(): Promise<void> {
  await node.spawn(Cart, {}, 'carts', false);
  // @ts-expect-error node.spawn: init needs (entities, crash)
  await node.spawn(Cart, {});
  await node.spawn(Plain);
  await node.spawn(Plain, {});
  // @ts-expect-error node.spawn: Plain declares no init, so it takes no arguments
  await node.spawn(Plain, {}, 1, 2);
  // @ts-expect-error node.spawnRegister: no arguments for an actor without init
  await node.spawnRegister('plain', Plain, {}, 'extra');
  await node.spawn(Optional, {});
  await node.spawn(Optional, {}, 3);
  // @ts-expect-error node.spawn: more arguments than init takes
  await node.spawn(Optional, {}, 3, 4);
  await node.spawn(Variadic, {}, 1, 'two', [3]);
  await node.spawn(SubCart, {}, 'carts', true);
  // @ts-expect-error node.spawn: a subclass without its own init keeps its parent's (entities, crash)
  await node.spawn(SubCart, {});
  await node.spawn(Page);
  // @ts-expect-error node.spawn: a web worker without init takes no arguments
  await node.spawn(Page, {}, 'extra');
}

// --- the test kit ----------------------------------------------------------------------------------

export async function testKit(): Promise<void> {
  await spawnTest(Cart, { args: ['carts', false] });
  await spawnTest(Cart, { args: ['carts', false], logLevel: LogLevel.Debug });
  await spawnTest(Plain);
  await spawnTest(Plain, { logLevel: LogLevel.Debug });
  await spawnTest(Optional);
  await spawnTest(Optional, { args: [3] });
  // @ts-expect-error spawnTest: init needs (entities, crash), no options given
  await spawnTest(Cart);
  // @ts-expect-error spawnTest: options without the args init needs
  await spawnTest(Cart, { logLevel: LogLevel.Debug });
  // @ts-expect-error spawnTest: args of the wrong types
  await spawnTest(Cart, { args: [1, 2] });
  // @ts-expect-error spawnTest: too few args
  await spawnTest(Cart, { args: ['carts'] });
  // @ts-expect-error spawnTest: an optional argument of the wrong type
  await spawnTest(Optional, { args: ['three'] });
  // @ts-expect-error spawnTest: args for an actor without init
  await spawnTest(Plain, { args: [1] });
}

// --- supervisor children ---------------------------------------------------------------------------

export class Sup extends Supervisor {
  override init(entities: string, crash: boolean): SupervisorSpec {
    void [entities, crash];
    return {
      children: [
        childSpec({ name: 'cart', factory: Cart, args: ['carts', false] }),
        childSpec({ name: 'plain', factory: Plain }),
        childSpec({ name: 'optional', factory: Optional }),
        // @ts-expect-error childSpec: init needs (entities, crash), no args given
        childSpec({ name: 'cart2', factory: Cart }),
        // @ts-expect-error childSpec: args of the wrong types
        childSpec({ name: 'cart3', factory: Cart, args: [1, 2] }),
        // @ts-expect-error childSpec: args for a child without init
        childSpec({ name: 'plain2', factory: Plain, args: [1] }),
        // @ts-expect-error childSpec: more args than init takes
        childSpec({ name: 'cart5', factory: Cart, args: ['carts', false, 3] }),
        // A plain literal without args, when init needs none.
        { name: 'literal-plain', factory: Plain },
        { name: 'literal-optional', factory: Optional },
        // @ts-expect-error a literal child with wrong args (a literal's args cannot be checked: childSpec)
        { name: 'literal-wrong', factory: Cart, args: [1, 2] },
        // @ts-expect-error a literal child with args, even right ones: written with childSpec
        { name: 'literal', factory: Cart, args: ['carts', false] },
        // @ts-expect-error a literal child with args for a child without init
        { name: 'literal-plain2', factory: Plain, args: ['extra'] },
      ],
    };
  }
}

// A literal child without the args its init needs (the error is the spec's: SupervisorSpec is a
// union of the SimpleOneForOne spec and the others).
// @ts-expect-error a literal child without the args its init needs
export const literalCart: SupervisorSpec = { children: [{ name: 'literal-cart', factory: Cart }] };
// @ts-expect-error a literal supervisor child without the args its init needs
export const literalSup: SupervisorSpec = { children: [{ name: 'sup', factory: Sup }] };

/** A supervisor of supervisors: a child supervisor's init args are checked the same way. */
export class Top extends Supervisor {
  override init(): SupervisorSpec {
    return {
      children: [
        childSpec({ name: 'sup', factory: Sup, args: ['carts', true] }),
        // @ts-expect-error childSpec: a supervisor whose init needs args, named without them
        childSpec({ name: 'sup2', factory: Sup }),
      ],
    };
  }
}

/** A SimpleOneForOne supervisor's children are templates: their args come with startChild. */
export class Simple extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.SimpleOneForOne,
      children: [
        { name: 'cart', factory: Cart },
        // A template's default args are checked as a child's.
        childSpec({ name: 'cart2', factory: Cart, args: ['carts', true] }),
        // @ts-expect-error a template's default args of the wrong types
        childSpec({ name: 'cart3', factory: Cart, args: [true, 'carts'] }),
        // @ts-expect-error a literal template with args (unchecked): written with childSpec
        { name: 'cart4', factory: Cart, args: [1, 2] },
      ],
    };
  }
}

/** A child spec typed by hand as the plain SupervisorChildSpec stays loose (explicit widening). */
export const widened: SupervisorChildSpec = { name: 'cart', factory: Cart };

// --- pools and cluster pools -----------------------------------------------------------------------

export class Carts extends Pool {
  override init() {
    return poolOptions({ poolSize: 2, workerFactory: Cart, workerArgs: ['carts', false] });
  }
}
export class Plains extends Pool {
  override init() {
    return poolOptions({ workerFactory: Plain });
  }
}
// @ts-expect-error poolOptions: the workers' init needs (entities, crash)
poolOptions({ workerFactory: Cart });
// @ts-expect-error poolOptions: worker args of the wrong types
poolOptions({ workerFactory: Cart, workerArgs: [1, 2] });
// @ts-expect-error poolOptions: more worker args than init takes
poolOptions({ workerFactory: Cart, workerArgs: ['carts', false, 3] });
// @ts-expect-error poolOptions: worker args for workers without init
poolOptions({ workerFactory: Plain, workerArgs: [1] });
// @ts-expect-error poolOptions: a factory function's workers are checked as a class's
poolOptions({ workerFactory: () => new Cart(), workerArgs: [1, 2] });

export class LiteralCarts extends Pool {
  // @ts-expect-error a pool's init returning a literal without the args its workers' init needs
  override init() {
    return { workerFactory: Cart };
  }
}
export class LiteralPlains extends Pool {
  override init(): PoolOptions {
    return { workerFactory: Plain };
  }
}
export class LiteralOptionals extends Pool {
  override init() {
    return { workerFactory: Optional, poolSize: 2 };
  }
}
/** poolOptions' result under the plain PoolOptions annotation: workers without init args. */
export class AnnotatedPlains extends Pool {
  override init(): PoolOptions {
    return poolOptions({ workerFactory: Plain });
  }
}
export class LiteralWrongArgs extends Pool {
  // @ts-expect-error a literal with workerArgs of the wrong types (a literal's args cannot be checked: poolOptions)
  override init() {
    return { workerFactory: Cart, workerArgs: [1, 2] };
  }
}
export class LiteralRightArgs extends Pool {
  // @ts-expect-error a literal with workerArgs, even right ones: written with poolOptions
  override init() {
    return { workerFactory: Cart, workerArgs: ['carts', false] as [string, boolean] };
  }
}
export class LiteralPlainArgs extends Pool {
  // @ts-expect-error a literal with workerArgs for workers without init
  override init() {
    return { workerFactory: Plain, workerArgs: ['extra'] };
  }
}
export class LiteralOptionalArgs extends Pool {
  // @ts-expect-error a literal with workerArgs for an optional init argument: written with poolOptions
  override init() {
    return { workerFactory: Optional, workerArgs: [3] };
  }
}
/** Options typed by hand as PoolOptions<Worker> stay loose, and a Pool's init refuses them. */
const widenedOptions: PoolOptions<Cart> = { workerFactory: Cart, workerArgs: ['carts', false] };
export class WidenedOptions extends Pool {
  // @ts-expect-error options typed by hand (unchecked) with workerArgs: written with poolOptions
  override init() {
    return widenedOptions;
  }
}
export class AnnotatedWrongArgs extends Pool {
  override init(): PoolOptions {
    // @ts-expect-error the plain PoolOptions takes no workerArgs (its workers' init needs none)
    return { workerFactory: Plain, workerArgs: [1] };
  }
}
export class AnnotatedArgsWorker extends Pool {
  override init(): PoolOptions {
    // @ts-expect-error the plain PoolOptions names workers whose init needs no arguments
    return { workerFactory: Cart, workerArgs: ['carts', false] };
  }
}
export class AsyncLiteralArgs extends Pool {
  // @ts-expect-error an async init's literal with workerArgs: written with poolOptions
  override async init() {
    await Promise.resolve();
    return { workerFactory: Cart, workerArgs: [true, 'carts'] };
  }
}
export class AsyncChecked extends Pool {
  override async init() {
    await Promise.resolve();
    return poolOptions({ workerFactory: Cart, workerArgs: ['carts', true] });
  }
}

export class ClusterCarts extends ClusterPool {
  override init() {
    return poolOptions({ workerFactory: Cart, workerArgs: ['carts', false] });
  }
}
export class ClusterCartsNoArgs extends ClusterPool {
  // @ts-expect-error a cluster pool's init returning a literal without its workers' init args
  override init() {
    return { workerFactory: Cart };
  }
}

// --- application members ---------------------------------------------------------------------------

export const app: ApplicationSpec = {
  name: 'shop',
  group: [
    memberSpec({ name: 'cart', factory: Cart, args: ['carts', false] }),
    memberSpec({ name: 'plain', factory: Plain }),
    // @ts-expect-error memberSpec: init needs (entities, crash), no args given
    memberSpec({ name: 'cart2', factory: Cart }),
    // @ts-expect-error memberSpec: args of the wrong types
    memberSpec({ name: 'cart3', factory: Cart, args: [true, 'x'] }),
    // @ts-expect-error memberSpec: more args than init takes
    memberSpec({ name: 'cart4', factory: Cart, args: ['carts', false, 3] }),
    // @ts-expect-error a literal member with args for an optional init argument: written with memberSpec
    { name: 'literal-optional2', factory: Optional, args: [3] },
    { name: 'literal-plain', factory: Plain },
    { name: 'literal-optional', factory: Optional },
    // @ts-expect-error a literal member with args, even right ones: written with memberSpec
    { name: 'literal', factory: Cart, args: ['carts', false] },
    // @ts-expect-error a literal member with args of the wrong types (a literal's args cannot be checked)
    { name: 'literal-wrong', factory: Cart, args: [1, 2] },
    // @ts-expect-error a literal member with args for a member without init
    { name: 'literal-plain2', factory: Plain, args: ['extra'] },
    // @ts-expect-error memberSpec: args for a member without init
    memberSpec({ name: 'plain2', factory: Plain, args: [1] }),
  ],
};
/** A member built by a function (as a group assembled at run time): memberSpec keeps the check. */
export function cartMember(entities: string): CheckedMemberSpec {
  return memberSpec({ name: 'cart', factory: Cart, args: [entities, false] });
}
export const assembled: ApplicationSpec = { name: 'shop', group: [cartMember('carts'), { factory: Plain }] };
/** A member typed by hand as the plain ApplicationMemberSpec stays loose, and a group refuses it. */
export const widenedMember: ApplicationMemberSpec = { factory: Cart, args: [1, 2] };
// @ts-expect-error a hand-typed (unchecked) member in a group: written with memberSpec
export const widenedGroup: ApplicationSpec = { name: 'shop', group: [widenedMember] };
export const literalMember: ApplicationSpec = {
  name: 'shop',
  // @ts-expect-error a literal member without the args its init needs
  group: [{ name: 'literal-cart', factory: Cart }],
};

// --- remote spawn with a typed factory (cluster) ---------------------------------------------------

export async function remote(): Promise<void> {
  const pid: PID = await cluster.spawnOn('b@localhost', Cart, {}, 'carts', false);
  await cluster.spawnLeastLoaded(Cart, {}, 'carts', true);
  await cluster.spawnOn('b@localhost', Plain);
  // By name: untyped, as RemoteNode.spawn.
  await cluster.spawnOn('b@localhost', 'cart', {}, 'anything');
  // @ts-expect-error spawnOn with a factory: init needs (entities, crash)
  await cluster.spawnOn('b@localhost', Cart, {});
  // @ts-expect-error spawnOn with a factory: args of the wrong types
  await cluster.spawnOn('b@localhost', Cart, {}, 1, 2);
  // @ts-expect-error spawnLeastLoaded with a factory: init needs (entities, crash)
  await cluster.spawnLeastLoaded(Cart);
  void pid;
}

// --- a cron job's spawn action --------------------------------------------------------------------

export const cronActions = [
  createCronActionSpawn(Cart, { args: ['carts', false] }),
  createCronActionSpawn(Cart, { register: 'cart', args: ['carts', true] }),
  createCronActionSpawn(Plain),
  createCronActionSpawn(Plain, { register: 'plain' }),
  // @ts-expect-error a cron spawn of a factory whose init needs (entities, crash), without args
  createCronActionSpawn(Cart),
  // @ts-expect-error a cron spawn with args of the wrong types
  createCronActionSpawn(Cart, { args: [1, 2] }),
  // @ts-expect-error a cron spawn with args for a worker whose init takes none
  createCronActionSpawn(Plain, { args: ['x'] }),
  // By name on another node: untyped, as RemoteNode.spawn.
  createCronActionRemoteSpawn('b@localhost', 'cart', { args: ['anything', 1] }),
];
