import postgres from 'postgres';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * While the Repo takes the database for down, this asks it `select 1` on a
 * connection of its own every PROBE_MS, so it does not queue behind the pool's
 * stuck queries, until it answers. Returns how to stop asking.
 */
export const PROBE_MS = 250;

export function probeUntilUp(url: string, timeoutMs: number, onUp: () => void): () => void {
  let stopped = false;
  const answerMs = Math.min(timeoutMs, 1_000);
  void (async () => {
    while (!stopped) {
      await sleep(PROBE_MS);
      if (stopped) return;
      const sql = postgres(url, { max: 1, connect_timeout: Math.ceil(answerMs / 1000), onnotice: () => {} });
      const answered = await Promise.race([sql`select 1`.then(() => true, () => false), sleep(answerMs).then(() => false)]);
      void sql.end({ timeout: 0 });
      if (answered && !stopped) {
        onUp();
        return;
      }
    }
  })();
  return () => {
    stopped = true;
  };
}
