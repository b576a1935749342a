// Flag sets shared by the snapshot and the matrix tests.

/** The command of the issue (and of docs/quickstart.md), after `npm create ergo-ts@latest`. */
export const README_EXAMPLE = [
  'MyNode',
  '--with-app',
  'MyApp',
  '--with-sup',
  'MyApp:MySup{type:ofo}',
  '--with-actor',
  'MySup:MyActor',
  '--with-web',
  'MyWeb{port:9090}',
  '--with-tcp',
  'MyTcp',
  '--with-udp',
  'MyUdp',
  '--with-pool',
  'MyPool{size:3}',
  '--with-msg',
  'MyMsg',
  '--with-logger',
  'colored',
  '--with-observer',
  '--tls',
];
