import {
  startServer,
  type ChildSpec,
  type GenServer,
} from '../../supervision/index.js';
import type { Config } from '../config.js';
import * as Repo from '../repo/repo.js';
import { sendJson, trackAbort } from './http.js';
import { uws, uwsRuntime } from './uws.js';

/**
 * The Endpoint owns the uWS app and its listen socket: HTTP routes now,
 * WebSocket upgrades and the Sessions supervisor in later issues.
 */

const HEALTH_DB_TIMEOUT_MS = 1_000;

interface State {
  readonly port: number;
}

type EndpointProtocol = { readonly call: never; readonly cast: never; readonly info: never };

export interface EndpointArgs {
  readonly config: Config;
  readonly nodeName: string;
  readonly startedAt: number;
}

const endpoint: GenServer<EndpointArgs, State, EndpointProtocol> = {
  init({ config, nodeName, startedAt }, ctx) {
    const app = uws.App();
    app.get('/health', (res) => {
      const aborted = trackAbort(res);
      void Repo.ping(HEALTH_DB_TIMEOUT_MS).then((database) => {
        if (aborted()) return;
        sendJson(res, database ? '200 OK' : '503 Service Unavailable', {
          status: database ? 'ok' : 'degraded',
          database,
          node: nodeName,
          uptime_s: Math.round((Date.now() - startedAt) / 1000),
          uws: uwsRuntime,
        });
      });
    });
    app.any('/*', (res) => sendJson(res, '404 Not Found', { error: 'not_found' }));
    return new Promise<State>((resolve, reject) => {
      app.listen(config.HOST, config.PORT, (listenSocket) => {
        if (listenSocket === false) {
          reject(new Error(`cannot listen on ${config.HOST}:${config.PORT} (address in use or not allowed)`));
          return;
        }
        ctx.owns(() => uws.us_listen_socket_close(listenSocket));
        const port = uws.us_socket_local_port(listenSocket);
        ctx.log.info({ host: config.HOST, port, uws: uwsRuntime }, 'listening');
        resolve({ port });
      });
    });
  },
};

export function endpointSpec(args: EndpointArgs): ChildSpec {
  return {
    id: 'endpoint',
    shutdown: args.config.SHUTDOWN_TIMEOUT_MS,
    start: (parent) => startServer(endpoint, args, { parent, id: 'endpoint', register: 'endpoint' }),
  };
}
