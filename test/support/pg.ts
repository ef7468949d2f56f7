import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { findHolder, inspectProcess } from '../../src/repo/embedded-leftover.js';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/repo/embedded.js';
import { fromRoot } from '../../src/root.js';

/** Scratch space of test runs, one directory per server, named `<kind>-<pid of its starter>-<random>`. */
export const TEST_DATA = fromRoot('.test-data');

export function testDataDir(kind: 'run' | 'private' | 'bench'): string {
  mkdirSync(TEST_DATA, { recursive: true });
  return mkdtempSync(join(TEST_DATA, `${kind}-${process.pid}-`));
}

/**
 * For tests of what the application does while its database goes away and
 * comes back: a server of the test's own, stopped and started again on the
 * same port and data.
 */
export interface PrivatePostgres {
  readonly url: string;
  /** The data directory (DATA_DIR): its secrets file, its cluster in `pg/`. */
  readonly dataDir: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its data. */
  destroy(): Promise<void>;
}

export async function privatePostgres(options: { readonly log?: Logger } = {}): Promise<PrivatePostgres> {
  const dataDir = testDataDir('private');
  const port = await freePort();
  const log = options.log ?? pino({ level: 'silent' });
  let running: EmbeddedDatabase | undefined;
  let url = '';
  const start = async (): Promise<void> => {
    if (running !== undefined) return;
    // However the test's process ends, the watchdog stops this server too.
    const started = await startEmbeddedPostgres({ dataDir, port, log, disposable: true });
    if (!started.ok) throw new Error(started.error);
    running = started.value;
    url = started.value.url;
  };
  const stop = async (): Promise<void> => {
    const server = running;
    running = undefined;
    await server?.stop();
  };
  await start();
  return {
    dataDir,
    // As the application role, as the server connects; the same on every start (its password is kept in the data directory).
    url,
    port,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes what runs killed before their cleanup left in .test-data (a server
 * still running, its data): directories whose starter is dead. A directory of a
 * live process, another run going on right now, is left alone.
 */
export async function sweepTestData(log: Logger): Promise<void> {
  let entries: string[];
  try {
    entries = readdirSync(TEST_DATA);
  } catch {
    return;
  }
  for (const entry of entries) {
    const starter = /^(?:run|private|bench)-(\d+)(?:-|$)/.exec(entry)?.[1];
    if (starter === undefined || inspectProcess(Number(starter)).alive) continue;
    const dir = join(TEST_DATA, entry);
    const holder = findHolder(join(dir, 'pg'), join(dir, 'pg.owner.json'));
    if (holder.kind === 'in_use') continue;
    // Throwaway data: immediate shutdown (SIGQUIT) is enough.
    if (holder.kind === 'leftover') process.kill(holder.pid, 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
    log.info({ dir, stoppedServer: holder.kind === 'leftover' }, 'removed the test data of a run that was killed');
  }
}
