import {
  call,
  dynamicSupervisorSpec,
  name,
  startServer,
  supervisorSpec,
  whereis,
  type ChildSpec,
  type GenServer,
  type SupervisorPid,
} from '../../supervision/index.js';
import type { Config } from '../config.js';
import * as PubSub from '../pubsub/pubsub.js';
import { adminRoutes } from './admin.js';
import { conns } from './conns.js';
import { Fastlane } from '../transport/fastlane.js';
import { healthRoute } from './health.js';
import { tokenVerifier } from './jwt.js';
import { json } from './http.js';
import { metricsRoute } from './metrics-route.js';
import { routes } from './route.js';
import { socketBehavior } from './socket.js';
import { staticRoutes } from './static.js';
import { uws, uwsBuild } from './uws.js';

/**
 * The Endpoint: a supervisor of the Sessions (one actor per WebSocket) and of
 * the HTTP listener that owns the uWS app, its routes and its listen socket.
 * one_for_all: sockets live in the uWS app and sessions serve them; neither
 * makes sense without the other. Sessions start first and stop last, so on
 * shutdown the listener closes before sessions close their sockets with 1001.
 */

const SESSIONS = name('sessions');

type HttpProtocol = { readonly call: { readonly type: 'port' }; readonly cast: never; readonly info: never };
const HTTP = name<HttpProtocol>('http');

interface State {
  readonly port: number;
}

interface EndpointArgs {
  readonly config: Config;
  readonly nodeName: string;
  readonly startedAt: number;
}

const http: GenServer<EndpointArgs, State, HttpProtocol> = {
  init({ config, nodeName, startedAt }, ctx) {
    const sessions = whereis(SESSIONS);
    if (sessions === undefined) throw new Error('the Sessions supervisor is not running');
    const app = uws().App();
    const verifyToken = tokenVerifier(config);
    const fastlane = new Fastlane(app);
    ctx.owns(conns.startSampling(config.SLOW_READER_BYTES));
    const router = routes(app, ctx.log);
    healthRoute(router, nodeName, startedAt);
    metricsRoute(router, conns);
    // Without a token the admin routes do not exist: /admin/* falls through to 404 below.
    if (config.ADMIN_TOKEN !== undefined) adminRoutes(router, { token: config.ADMIN_TOKEN, conns });
    staticRoutes(router, { names: config.NAMES, signed: verifyToken !== undefined });
    app.ws('/socket/websocket', socketBehavior({ config, verifyToken, sessions: sessions as SupervisorPid, fastlane, conns, log: ctx.log }));
    const notFound = json('404 Not Found', { error: 'not_found' });
    router.any('/*', () => notFound);
    PubSub.setSocketPublisher((broadcast) => fastlane.publish(broadcast));
    ctx.owns(() => PubSub.setSocketPublisher(undefined));
    return new Promise<State>((resolve, reject) => {
      app.listen(config.HOST, config.PORT, (listenSocket) => {
        if (listenSocket === false) {
          reject(new Error(`cannot listen on ${config.HOST}:${config.PORT} (address in use or not allowed)`));
          return;
        }
        ctx.owns(() => uws().us_listen_socket_close(listenSocket));
        const port = uws().us_socket_local_port(listenSocket);
        ctx.log.info({ host: config.HOST, port, uws: uwsBuild() }, 'listening');
        resolve({ port });
      });
    });
  },
  handleCall(_message, _from, state) {
    return { state, reply: state.port };
  },
};

export function endpointSpec(args: EndpointArgs): ChildSpec {
  return supervisorSpec(
    'endpoint',
    [
      dynamicSupervisorSpec('sessions', {
        register: SESSIONS.registered,
        intensityScope: 'per_child',
        maxRestarts: 3,
        periodMs: 5_000,
        ...(args.config.MAX_SESSIONS === undefined ? {} : { maxChildren: args.config.MAX_SESSIONS }),
      }),
      {
        id: 'http',
        shutdown: args.config.SHUTDOWN_TIMEOUT_MS,
        start: (parent) => startServer(http, args, { parent, id: 'http', register: HTTP.registered }),
      },
    ],
    { strategy: 'one_for_all' },
  );
}

/** The port the listener got (PORT=0 picks a free one). */
export async function port(): Promise<number | undefined> {
  const result = await call<number, HttpProtocol>(HTTP, { type: 'port' });
  return result.ok ? result.value : undefined;
}

/** The Sessions supervisor, for introspection (admin, tests). */
export function sessionsSupervisor(): SupervisorPid | undefined {
  return whereis(SESSIONS) as SupervisorPid | undefined;
}
