// A registrar node in its own OS process, for the crash takeover test: registers argv[2] on
// registrar port argv[3], prints {"role": ...} once registered, then runs until killed.

import { EmbeddedRegistrar } from '../src/net/registrar/index.js';
import { localNode, routesOn } from './registrar_helpers.js';

const [name, port] = process.argv.slice(2);
const { reg } = await localNode(name!);
// A long register deadline: the survivor's registration must not time out on a loaded machine.
const registrar = new EmbeddedRegistrar({ port: Number(port), registerTimeout: 10_000 });
await registrar.register(reg, routesOn(18001));
process.stdout.write(JSON.stringify({ role: registrar.role() }) + '\n');
setInterval(() => {}, 1 << 30);
