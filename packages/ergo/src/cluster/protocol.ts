// The messages between a cluster launcher and its nodes (worker threads or child processes).
// Internal: only the launcher (launcher.ts) and the node entry (worker.ts) speak it.

import type { MessagePort } from 'node:worker_threads';
import type { NodeOptions } from '../gen/node.js';

/** How a cluster runs its nodes. */
export type ClusterMode = 'thread' | 'process';

/** What a node is started with (workerData, or the first IPC message of a child). */
export interface NodeStart {
  name: string;
  index: number;
  /** Nodes in the cluster (the `nodes` option resolved). */
  size: number;
  mode: ClusterMode;
  /** How nodes of the cluster reach each other (child processes: always TCP). */
  transport: 'inhost' | 'tcp';
  /** Bytes of each direction's ring of an in-host link this node dials (undefined: the default). */
  ringSize?: number;
  /** The in-host private frame is announced (undefined: on). */
  inHostFrame?: boolean;
  /** file: URL of the application module (its default export runs on every node). */
  module: string | null;
  options: NodeOptions;
  args: unknown;
  /** Seconds: the node must start with a creation above this one (a restart). */
  afterCreation: number;
  /** How often the node reports its load, in ms. */
  loadInterval: number;
}

/** Launcher → node. */
export type ToNode =
  | { t: 'peer'; name: string; port: MessagePort }
  | { t: 'route'; name: string; host: string; port: number }
  | { t: 'down'; name: string }
  | { t: 'loads'; loads: [string, number][] }
  | { t: 'stop' };

/** Node → launcher. */
export type FromNode =
  | { t: 'up'; name: string; creation: number; host: string; port: number }
  | { t: 'load'; name: string; load: number }
  | { t: 'failed'; name: string; message: string }
  | { t: 'stopped'; name: string };
