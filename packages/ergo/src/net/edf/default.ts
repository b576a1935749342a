// The process-wide default registry: the framework's wire types are queued in it at load and
// registered on its first use (EdfRegistry.defer: a node that never encodes skips them; the
// inspector's wait for a lookup that misses, EdfRegistry.deferUntilMissed), and users
// add theirs with registerType/registerError. Encoders and decoders use it unless given another
// registry (tests and embedders can create isolated ones).

import { registerFrameworkTypes } from './framework.js';
import { isInspectClass, registerInspectTypes } from './inspect.js';
import { EdfRegistry, type RegisteredType, type StructFields, type StructOptions, type TypeSpec } from './registry.js';

/**
 * The registry used by default by every encoder and decoder (and by "simulate remote" on the
 * node). Holds the framework types of WIRE.md Appendix A plus whatever the application registers.
 */
export const defaultRegistry: EdfRegistry = new EdfRegistry();
defaultRegistry.defer(registerFrameworkTypes);
// The inspector's types wait for a lookup that needs them: an inspection message from the wire,
// a value of one of their classes sent, a name asked for.
defaultRegistry.deferUntilMissed(registerInspectTypes, isInspectClass);

/**
 * Registers a type in the default registry (see {@link EdfRegistry.register}). Register at
 * startup, before values of the type are sent or received.
 * @throws EdfError `ERR_EDF_REGISTER` / `ERR_EDF_TYPE_NAME_TOO_LONG`.
 */
export function registerType<T>(spec: TypeSpec<T>): RegisteredType<T> {
  return defaultRegistry.register(spec);
}

/**
 * Registers a Go struct by its field names in the default registry (see
 * {@link EdfRegistry.registerStruct}): `fields` in Go declaration order, each with its Go type;
 * instances of `options.class` are checked to have exactly those fields. Register at startup.
 * @throws EdfError `ERR_EDF_REGISTER` (naming the field) / `ERR_EDF_TYPE_NAME_TOO_LONG`.
 */
export function registerStruct<T extends object = Record<string, unknown>>(
  name: string,
  fields: StructFields<NoInfer<T>>,
  options?: StructOptions<T>,
): RegisteredType<T> {
  return defaultRegistry.registerStruct<T>(name, fields, options);
}

/**
 * Registers an error in the default registry so that decoding its text returns this object.
 * @throws EdfError `ERR_EDF_REGISTER` if another error with the same text is registered.
 */
export function registerError(err: Error): void {
  defaultRegistry.registerError(err);
}

/**
 * A new, isolated registry. With `framework` (default true) the framework's wire types are
 * registered in it, as in the default registry.
 */
export function createRegistry(options: { framework?: boolean } = {}): EdfRegistry {
  const r = new EdfRegistry();
  if (options.framework !== false) {
    registerFrameworkTypes(r);
    registerInspectTypes(r);
  }
  return r;
}
