// What makes `node.stop()` drain the entities runtime. A node stops its applications before it
// sends every process its shutdown exit (latest loaded first, each given a few seconds), so the
// runtime starts an application of its own: one member, this behaviour, whose only job is to
// hear its application's stop and answer it once the runtime has drained (every activation handed
// off, every lease released, the other members told). The hosts are therefore gone, their state
// saved, before the node's exits reach them. A runtime stopped first (`entities.stop()`) stops and
// unloads its application itself.

import {
  BehaviorBase,
  MailboxKind,
  MessageExitPID,
  TerminateReasonShutdown,
  createApplication,
  memberSpec,
  type Node,
  type PID,
  type Process,
  type ProcessMailbox,
  type Ref,
} from 'ergo-ts';

import { errorCode } from '../contract/codes.js';
import { ErrEntityIncorrect } from '../contract/errors.js';

/** What the stopper needs from the runtime (runtime.ts implements it). */
export interface StoppableRuntime {
  /** Drains and stops the runtime as part of its node's (or its application's) stop. */
  stopWithNode(): Promise<void>;
}

/** The application member that drains the runtime when the application stops (internal). */
export class EntitiesStopper extends BehaviorBase {
  #mb!: ProcessMailbox;
  #rt!: StoppableRuntime;

  override processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    this.#mb = process.mailbox();
    this.#rt = args[0] as StoppableRuntime;
    return undefined;
  }

  override processRun(): unknown {
    const mb = this.#mb;
    while (mb.take()) {
      const { kind, from, message, extra } = mb;
      mb.release();
      if (kind === MailboxKind.Exit) {
        // Its application stops (the node stops, or the runtime's stop stopped it): drain first.
        const reason = message instanceof MessageExitPID ? message.reason : TerminateReasonShutdown;
        const end = (): Error => reason;
        return this.#rt.stopWithNode().then(end, (e: unknown) => {
          this.log.warning('entities: draining on stop failed: %s', String(e));
          return reason;
        });
      }
      if (kind === MailboxKind.Inspect) this.sendResponse(from as PID, extra as Ref, { role: 'drains on stop' });
      else if (kind === MailboxKind.Request)
        this.sendResponseError(
          from as PID,
          (Array.isArray(extra) ? extra[0] : extra) as Ref,
          ErrEntityIncorrect.with('the entities stopper takes no requests'),
        );
    }
    return undefined;
  }

  override processTerminate(): unknown {
    return undefined;
  }
}

/**
 * Starts the application (named as the manager) whose stop drains this runtime: `node.stop()`
 * stops applications before it sends its processes their exits. Without it (the name is an
 * application of the node's already) the runtime still works, and `stop()` must come first.
 * `loaded` hears the application's name once it is loaded (the runtime's stop unloads it).
 */
export async function startStopper(
  node: Node,
  name: string,
  rt: StoppableRuntime,
  loaded: (app: string) => void,
): Promise<void> {
  try {
    await node.applicationLoad(
      createApplication({
        name,
        description: 'drains the entities runtime when the node stops (@ergo-ts/entities)',
        group: [memberSpec({ factory: EntitiesStopper, args: [rt] })],
      }),
    );
  } catch (e) {
    node.log.warning(
      'entities: cannot load application %s (%s): node.stop() will not drain; call entities.stop() first',
      name,
      errorCode(e),
    );
    return;
  }
  loaded(name);
  await node.applicationStartTemporary(name);
}

/** Stops and unloads the application {@link startStopper} started (the runtime stops first). */
export async function stopStopper(node: Node, app: string): Promise<void> {
  // Its member's drain resolves at once now; then the name is free for a later runtime.
  try {
    await node.applicationStop(app);
    node.applicationUnload(app);
  } catch (e) {
    node.log.warning('entities: stopping application %s: %s', app, String(e));
  }
}
