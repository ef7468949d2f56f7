import assert from 'node:assert/strict';
import { pino, type Logger } from 'pino';
import { SHUTDOWN, awaitExit, crashProcess, stop, whichChildren, type Pid, type SupervisorPid } from '../../supervision/index.js';
import { startApplication } from '../../src/application.js';
import { parseConfig } from '../../src/config.js';
import * as Endpoint from '../../src/endpoint/endpoint.js';
import { freshDatabase, type TestDatabase } from './db.js';

/** The whole application in this process, on a fresh database and a free port, as `npm start` runs it. */
export interface TestApp {
  readonly app: SupervisorPid;
  readonly db: TestDatabase;
  readonly port: number;
  readonly httpUrl: string;
  /** For phoenix.js: `new Socket(wsUrl, ...)` connects to `${wsUrl}/websocket`. */
  readonly wsUrl: string;
  sessions(): Promise<Array<{ id: string; pid: Pid }>>;
  /**
   * A real crash of that Session actor, handled by the Sessions supervisor; resolves once it has
   * exited, when its DOWN is in the supervisor's mailbox: sessions() after it sees the restart.
   */
  crashSession(id: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestApp(options: { env?: Record<string, string>; databaseUrl?: string; log?: Logger } = {}): Promise<TestApp> {
  // A test that stops its database brings its own server; the rest share the test server.
  const db: TestDatabase =
    options.databaseUrl === undefined ? await freshDatabase() : { url: options.databaseUrl, sql: undefined as never, drop: async () => {} };
  const parsed = parseConfig({ ...process.env, PORT: '0', HOST: '127.0.0.1', ...options.env });
  assert.ok(parsed.ok, 'test configuration is valid');
  const log = options.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const started = await startApplication(parsed.value, log, db.url, 'test@127.0.0.1');
  assert.ok(started.ok, 'application started');
  const port = await Endpoint.port();
  assert.ok(port !== undefined);
  const sessions = async () => {
    const sup = Endpoint.sessionsSupervisor();
    if (sup === undefined) return [];
    const children = await whichChildren(sup);
    if (!children.ok) return [];
    return children.value.flatMap((child) => (child.pid === undefined ? [] : [{ id: child.id, pid: child.pid }]));
  };
  return {
    app: started.value,
    db,
    port,
    httpUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/socket`,
    sessions,
    crashSession: async (id) => {
      const session = (await sessions()).find((s) => s.id === id);
      assert.ok(session, `session ${id} exists`);
      const exited = awaitExit(session.pid);
      crashProcess(session.pid, 'crashed by the test');
      await exited;
    },
    stop: async () => {
      await stop(started.value, SHUTDOWN, 15_000);
      await db.drop();
    },
  };
}
