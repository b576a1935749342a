// Typed protocols carry the EDF registrations their Go peers need (`types` in defineProtocol).
// gen/ cannot import the codec, so this module, loaded with the engine and with `ergo-ts/net`,
// installs the function that registers them in the default registry.

import { installProtocolTypeRegistrar, type ProtocolTypeDecl } from '../gen/protocol.js';
import { defaultRegistry } from './edf/default.js';
import type { StructFields, StructOptions, TypeSpec } from './edf/registry.js';

/** Registers one declaration unless a type of that name is already registered. */
function registerDecl(decl: ProtocolTypeDecl): void {
  if (defaultRegistry.type(decl.name) !== undefined) return;
  // A struct declaration (`fields` named, in Go's order) goes through the registration by field
  // names, which checks the class and names a missing field at encode; other specs (named or
  // custom types) keep the general registration.
  const spec = decl as unknown as TypeSpec<object>;
  if ('fields' in spec) {
    const options: StructOptions<object> = {};
    if (spec.class !== undefined) options.class = spec.class;
    if (spec.create !== undefined) options.create = spec.create;
    defaultRegistry.registerStruct(decl.name, spec.fields as StructFields<object>, options);
    return;
  }
  defaultRegistry.register(spec);
}

installProtocolTypeRegistrar(registerDecl);
