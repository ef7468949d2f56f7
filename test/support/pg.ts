import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/repo/embedded.js';

/** A PostgreSQL of a test's own, to stop and start again mid-test on the same port. */
export interface PrivatePostgres {
  readonly url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

export async function privatePostgres(): Promise<PrivatePostgres> {
  const dataDir = resolve('.test-data', `private-${process.pid}-${Date.now()}`);
  const port = await freePort();
  const log = pino({ level: 'silent' });
  let running: EmbeddedDatabase | undefined;
  const start = async () => {
    const started = await startEmbeddedPostgres({ dataDir, port, log });
    if (!started.ok) throw new Error(started.error);
    running = started.value;
  };
  await start();
  const url = running?.url ?? '';
  const stop = async () => {
    await running?.stop();
    running = undefined;
  };
  return {
    url,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
