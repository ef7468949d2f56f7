/**
 * npm run bench:repo — messages stored per second through the Repo's group
 * commit, next to one INSERT per message on the same pool size, same database,
 * same run. Goals (issue 02): group commit >= 5x single inserts, >= 20,000/s.
 * Then the group commit again with a nonce on every message, as clients send them.
 */
import postgres from 'postgres';
import { pino } from 'pino';
import { SHUTDOWN, rootParent, startSupervisor, stop } from '../supervision/index.js';
import { insertOne } from '../src/repo/message-batch.js';
import * as Repo from '../src/repo/repo.js';
import { benchDatabase } from './support/database.js';

const POOL = 10;
const GROUP_MESSAGES = 100_000;
const SINGLE_MESSAGES = 10_000;
// Callers with a message in flight at once: a busy chat node has thousands of sessions posting.
const IN_FLIGHT = 2_000;

const database = await benchDatabase();
const sql = postgres(database.url, { max: POOL, onnotice: () => {} });
const [user] = await sql`INSERT INTO users (name) VALUES ('bench') ON CONFLICT ((lower(name))) DO UPDATE SET name = 'bench' RETURNING id`;
const userId = String(user?.['id']);
const body = 'x'.repeat(100);

async function withConcurrency(total: number, concurrency: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
  return total / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const singles = await withConcurrency(SINGLE_MESSAGES, POOL, async (i) => {
  await insertOne(sql, { room: 'single', userId, userName: 'bench', body: `${i} ${body}` });
});

const sup = await startSupervisor([Repo.repoSpec({ url: database.url, poolSize: POOL, timeoutMs: 30_000 })], {
  parent: rootParent(pino({ level: 'warn' })),
  id: 'bench',
});
if (!sup.ok) throw new Error('repo did not start');
let failures = 0;
const cpu0 = process.cpuUsage();
const grouped = await withConcurrency(GROUP_MESSAGES, IN_FLIGHT, async (i) => {
  const stored = await Repo.insertMessage({ room: 'grouped', userId, userName: 'bench', body: `${i} ${body}` });
  if (!stored.ok) failures += 1;
});
const cpu = process.cpuUsage(cpu0);
const stats = await Repo.stats();
// As the browser client sends: each message with its author and a nonce of its own (the unique index is checked).
const author = 'a'.repeat(64);
const withNonces = await withConcurrency(GROUP_MESSAGES, IN_FLIGHT, async (i) => {
  const stored = await Repo.insertMessage({ room: 'nonces', userId, userName: 'bench', body: `${i} ${body}`, author, nonce: `bench-${i}` });
  if (!stored.ok) failures += 1;
});
await stop(sup.value, SHUTDOWN, 5_000);
await sql.end();
await database.stop();

const ratio = grouped / singles;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
const avgBatch = stats.ok ? (stats.value.batchedRows / Math.max(1, stats.value.batches)).toFixed(0) : '?';
process.stdout.write(`\nbench:repo  (pool ${POOL}, ${IN_FLIGHT} callers in flight, 100-byte bodies; node ${process.version})\n`);
process.stdout.write(`one INSERT per message      ${fmt(singles)} msgs/s  (${SINGLE_MESSAGES.toLocaleString('en-US')} messages)\n`);
process.stdout.write(`Repo group commit           ${fmt(grouped)} msgs/s  (${GROUP_MESSAGES.toLocaleString('en-US')} messages, ${avgBatch} rows per INSERT on average)\n`);
process.stdout.write(`group commit, with nonces   ${fmt(withNonces)} msgs/s  (${GROUP_MESSAGES.toLocaleString('en-US')} messages, each with an author and its own nonce)\n`);
process.stdout.write(`ratio                       ${ratio.toFixed(1).padStart(10)}x  goal >= 5x: ${ratio >= 5 ? 'ok' : 'MISSED'}; >= 20,000/s: ${grouped >= 20_000 ? 'ok' : 'MISSED'}\n`);
process.stdout.write(`node CPU during group commit: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms\n`);
if (failures > 0) process.stdout.write(`failed inserts: ${failures}\n`);
process.exit(ratio >= 5 && grouped >= 20_000 && failures === 0 ? 0 : 1);
