import type { Logger } from 'pino';
import { rootParent, startSupervisor, type ChildSpec, type StartError, type SupervisorPid } from '../supervision/index.js';
import type { Result } from '../supervision/result.js';
import type { Config } from './config.js';
import { endpointSpec } from './endpoint/endpoint.js';

/**
 * The whole supervision tree on one screen.
 *
 *   app (rest_for_one: each child depends on those before it)
 *   └── endpoint       uWS listen socket, HTTP routes
 */
export function children(config: Config, nodeName: string): ChildSpec[] {
  const startedAt = Date.now();
  return [endpointSpec({ config, nodeName, startedAt })];
}

export function startApplication(config: Config, log: Logger, nodeName: string): Promise<Result<SupervisorPid, StartError>> {
  return startSupervisor(children(config, nodeName), {
    parent: rootParent(log),
    id: 'app',
    strategy: 'rest_for_one',
    maxRestarts: 3,
    periodMs: 5_000,
  });
}
