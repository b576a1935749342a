// Typed protocols carry the EDF registrations their Go peers need (`types` in defineProtocol).
// gen/ cannot import the codec, so this module, loaded with the engine and with `ergo-ts/net`,
// installs the function that registers them in the default registry.

import { installProtocolTypeRegistrar, type ProtocolTypeDecl } from '../gen/protocol.js';
import { defaultRegistry } from './edf/default.js';
import type { TypeSpec } from './edf/registry.js';

/** Registers one declaration unless a type of that name is already registered. */
function registerDecl(decl: ProtocolTypeDecl): void {
  if (defaultRegistry.type(decl.name) !== undefined) return;
  // MERGE(wire20): the single call site to switch to the registration by field names
  // (fields named in Go's order) once net/edf/ has it; today's positional spec is used as is.
  defaultRegistry.register(decl as unknown as TypeSpec<unknown>);
}

installProtocolTypeRegistrar(registerDecl);
