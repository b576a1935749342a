// Static routes (Ergo's `Network.AddRoute`): how to reach nodes whose name matches a pattern.
// Patterns are regular expressions matched anywhere in the name (Go's `regexp.MatchString`);
// every matching route is tried, highest weight first. When at least one static route matches,
// the registrar is not consulted (WIRE.md §4.3).

import { ErrIncorrect, ErrTaken, ErrUnknown } from '../../gen/errors.js';
import type { NetworkRoute } from '../../gen/network.js';

/** One static route as stored. */
export interface StaticRoute {
  match: string;
  pattern: RegExp;
  route: NetworkRoute;
  weight: number;
}

/** The static route table of a network. */
export class RouteTable {
  private readonly routes: StaticRoute[] = [];

  /**
   * Adds a route for names matching `match` (a regular expression).
   * @throws ErrIncorrect for a bad pattern, weight or route; ErrTaken when `match` has a route.
   */
  add(match: string, route: NetworkRoute, weight: number): void {
    if (typeof match !== 'string' || match === '')
      throw ErrIncorrect.with('route match must be a non-empty regular expression');
    if (!Number.isInteger(weight) || weight < 0)
      throw ErrIncorrect.with(`route weight ${String(weight)} (an integer ≥ 0)`);
    if (route === null || typeof route !== 'object') throw ErrIncorrect.with('route must be an object');
    if (route.route === undefined && route.resolver === undefined)
      throw ErrIncorrect.with('route needs a route (host, port) or a resolver');
    if (route.route !== undefined) {
      const p = route.route.port;
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw ErrIncorrect.with(`route port ${String(p)} (1..65535)`);
    }
    let pattern: RegExp;
    try {
      pattern = new RegExp(match);
    } catch (e) {
      throw ErrIncorrect.with(`route match ${JSON.stringify(match)}: ${(e as Error).message}`);
    }
    if (this.routes.some((r) => r.match === match)) throw ErrTaken.with(`route ${match}`);
    this.routes.push({ match, pattern, route, weight });
    this.routes.sort((a, b) => b.weight - a.weight);
  }

  /** Removes the route added with `match`. ErrUnknown when there is none. */
  remove(match: string): void {
    const i = this.routes.findIndex((r) => r.match === match);
    if (i < 0) throw ErrUnknown.with(`route ${match}`);
    this.routes.splice(i, 1);
  }

  /** Routes for `name`, highest weight first. */
  lookup(name: string): StaticRoute[] {
    return this.routes.filter((r) => r.pattern.test(name));
  }

  /** Every route, highest weight first. */
  all(): readonly StaticRoute[] {
    return this.routes;
  }
}
