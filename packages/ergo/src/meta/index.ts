// ergo-ts/meta: meta processes — the bridge between I/O and processes (TCP, UDP, external
// programs), and MetaBase, the base of your own.
export { MetaBase } from './base.js';
