import { send, startServer, supervisorSpec, type ChildSpec, type GenServer } from '../../supervision/index.js';
import { startEmbeddedPostgres, type EmbeddedDatabase, type EmbeddedOptions } from './embedded.js';

/**
 * The embedded PostgreSQL as a child of the tree: a process that owns one
 * postmaster and crashes when it exits, under a one_for_one supervisor of its
 * own. A killed postmaster is started again on the same port and data by that
 * supervisor, and the root (rest_for_one) never hears of it: the Repo's breaker
 * covers the gap. Only past the restart intensity does the failure go up.
 */

type Info = { readonly type: 'exited'; readonly reason: string };
type Protocol = { readonly call: never; readonly cast: never; readonly info: Info };

/** The port is fixed by then, so every incarnation listens where the Repo connects. */
export type PostgresArgs = EmbeddedOptions & { readonly port: number };

const postgresServer: GenServer<PostgresArgs, EmbeddedDatabase, Protocol> = {
  async init(args, ctx) {
    const started = await startEmbeddedPostgres(args);
    if (!started.ok) throw new Error(started.error);
    void started.value.exited.then((reason) => send(ctx.self, { type: 'exited', reason }));
    // A killed process (not terminated) must not leave its postmaster behind.
    ctx.owns(() => void started.value.stop());
    return started.value;
  },
  handleInfo(message, state) {
    if (message.type === 'exited') throw new Error(`embedded PostgreSQL ${message.reason}`);
    return state;
  },
  async terminate(_reason, state) {
    await state.stop();
  },
};

export function embeddedPostgresSpec(args: PostgresArgs): ChildSpec {
  const postgres: ChildSpec = {
    id: 'postgres',
    // Fast shutdown checkpoints; give it the time stopServer may take before it goes to immediate.
    shutdown: 20_000,
    start: (parent) => startServer(postgresServer, args, { parent, id: 'postgres' }),
  };
  return supervisorSpec('database', [postgres], { strategy: 'one_for_one', maxRestarts: 3, periodMs: 5_000 });
}
