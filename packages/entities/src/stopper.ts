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
  type PID,
  type Process,
  type ProcessMailbox,
  type Ref,
} from 'ergo-ts';

import { ErrEntityIncorrect } from './contract/errors.js';

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
