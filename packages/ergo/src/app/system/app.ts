// The system application (Ergo's app/system): `system_app`, whose only member is the supervisor
// `system_sup`, which runs `system_inspect`. startNode starts it before the applications of the
// options, as Ergo's StartNode does. It cannot be stopped (ErrNotAllowed), the graceful stop
// leaves it to the end, and its processes are not waited for. Ergo's usage-metrics reporter
// (`system_metrics`) is deliberately not part of it (docs/differences.md).

import { Supervisor } from '../../act/supervisor.js';
import { childSpec, SupervisorStrategy, SupervisorType, type SupervisorSpec } from '../../act/supervisor_types.js';
import { ApplicationMode, memberSpec, type ApplicationBehavior, type ApplicationSpec } from '../../gen/application.js';
import { SYSTEM_APP, SYSTEM_INSPECT, SYSTEM_SUP } from '../../gen/inspect.js';
import { SystemInspect } from './inspect.js';

/**
 * `system_sup`: one-for-one, permanent restarts, one child: `system_inspect` (its arg: whether it
 * shows message contents, `security.inspectMessages`).
 */
export class SystemSup extends Supervisor {
  init(showMessages = true): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [childSpec({ name: SYSTEM_INSPECT, factory: SystemInspect, args: [showMessages] })],
      restart: { strategy: SupervisorStrategy.Permanent },
    };
  }
}

/**
 * The system application's behaviour (loaded and started by startNode); `showMessages`: the
 * node's `security.inspectMessages` (default true).
 */
export function createSystemApp(showMessages = true): ApplicationBehavior {
  return {
    load(): ApplicationSpec {
      return {
        name: SYSTEM_APP,
        description: 'System Application',
        group: [memberSpec({ name: SYSTEM_SUP, factory: SystemSup, args: [showMessages] })],
        mode: ApplicationMode.Permanent,
      };
    },
  };
}
