// The four ESRD:R1 registrar messages (WIRE.md §4.2, Appendix A), registered under Go Ergo's
// names in the default registry when this module loads (as Go's `net/registrar` does; queued,
// registered on the registry's first use); `registerRegistrarTypes` adds them to another
// registry. Always encoded without caches.

import { defaultRegistry } from '../edf/default.js';
import { EdfError } from '../edf/errors.js';
import { FrameworkTypeName, type Fields, type Route } from '../edf/framework.js';
import type { EdfRegistry } from '../edf/registry.js';
import { Go } from '../edf/wrappers.js';

const REGISTRAR = '#ergo.services/ergo/net/registrar/';

/** Go registration names of the registrar messages. */
export const RegistrarTypeName = Object.freeze({
  MessageRegisterRoutes: `${REGISTRAR}MessageRegisterRoutes`,
  MessageRegisterReply: `${REGISTRAR}MessageRegisterReply`,
  MessageResolveRoutes: `${REGISTRAR}MessageResolveRoutes`,
  MessageResolveReply: `${REGISTRAR}MessageResolveReply`,
});

/** `registrar.MessageRegisterRoutes`: a client registers its node's acceptors (TCP). */
export class MessageRegisterRoutes {
  node = '';
  routes: Route[] | null = null;
  constructor(init?: Fields<MessageRegisterRoutes>) {
    if (init) Object.assign(this, init);
  }
}

/** `registrar.MessageRegisterReply`: null error = registered; "resource is taken" for a duplicate. */
export class MessageRegisterReply {
  error: Error | null = null;
  constructor(init?: Fields<MessageRegisterReply>) {
    if (init) Object.assign(this, init);
  }
}

/** `registrar.MessageResolveRoutes`: a resolve request (UDP). */
export class MessageResolveRoutes {
  node = '';
  constructor(init?: Fields<MessageResolveRoutes>) {
    if (init) Object.assign(this, init);
  }
}

/** `registrar.MessageResolveReply`: routes, or null routes and error text "unknown". */
export class MessageResolveReply {
  routes: Route[] | null = null;
  error: Error | null = null;
  constructor(init?: Fields<MessageResolveReply>) {
    if (init) Object.assign(this, init);
  }
}

/**
 * Registers the registrar messages in `r` (a registry with the framework types). Idempotent.
 * @throws EdfError `ERR_EDF_REGISTER` if a name is taken by another type.
 */
export function registerRegistrarTypes(r: EdfRegistry): void {
  if (r.type(RegistrarTypeName.MessageRegisterRoutes) !== undefined) return;
  const route = r.type(FrameworkTypeName.Route);
  if (route === undefined)
    throw new EdfError(
      'ERR_EDF_REGISTER',
      `registry lacks the framework type ${FrameworkTypeName.Route} (use createRegistry())`,
    );
  const routes = Go.slice(route);
  r.register({
    name: RegistrarTypeName.MessageRegisterRoutes,
    class: MessageRegisterRoutes,
    fields: { node: Go.atom, routes },
  });
  r.register({
    name: RegistrarTypeName.MessageRegisterReply,
    class: MessageRegisterReply,
    fields: { error: Go.error },
  });
  r.register({ name: RegistrarTypeName.MessageResolveRoutes, class: MessageResolveRoutes, fields: { node: Go.atom } });
  r.register({
    name: RegistrarTypeName.MessageResolveReply,
    class: MessageResolveReply,
    fields: { routes, error: Go.error },
  });
}

defaultRegistry.defer(registerRegistrarTypes);
