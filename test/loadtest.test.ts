import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { layoutWorkers, sourceAddresses } from '../src/cli/loadtest/limits.js';
import { parseArgs } from '../src/cli/loadtest/options.js';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * `npm run loadtest` as people run it: the CLI in its own process against the
 * real server in another, with session kills, and its answers to bad options.
 */

const ADMIN_TOKEN = 'loadtest-admin-token-0123456789';

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/src/cli/loadtest.js', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

const resultFile = z.object({
  result: z.object({
    sockets: z.object({ requested: z.number(), joined: z.number() }),
    messages: z.object({ sent: z.number(), accepted: z.number(), expectedDeliveries: z.number(), delivered: z.number(), lost: z.number(), doubled: z.number() }),
    latencyMs: z.object({ p50: z.number(), p99: z.number() }),
    restarts: z.object({ phxErrors: z.number(), rejoins: z.number(), killed: z.number() }),
    announcements: z.object({ made: z.number(), expected: z.number(), delivered: z.number(), lost: z.number(), doubled: z.number(), latencyMs: z.object({ max: z.number() }) }),
    serverRssBytes: z.object({ before: z.number().optional(), after: z.number().optional() }),
    failures: z.array(z.string()),
  }),
});

describe('npm run loadtest against the real server', () => {
  let db: TestDatabase;
  let server: ServerProcess;
  const dir = mkdtempSync(join(tmpdir(), 'loadtest-'));
  before(async () => {
    db = await freshDatabase();
    server = await startServerProcess({
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
      RATE_LIMIT_PER_SEC: '1000',
      RATE_LIMIT_BURST: '1000',
      ADMIN_TOKEN,
    });
  });
  after(async () => {
    await server.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('500 sockets for 10 s with sessions killed under load: nothing lost, nothing twice; two announcements reach every socket once', async () => {
    const json = join(dir, 'result.json');
    const run = await cli(
      ['--url', server.url, '--sockets', '500', '--rooms', '5', '--senders', '5', '--rate', '25', '--duration', '10', '--ramp', '500', '--kill-sessions', '2', '--announce', '2', '--json', json],
      { ADMIN_TOKEN },
    );
    assert.equal(run.code, 0, `exit code; stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.match(run.stdout, /result: OK/);
    assert.match(run.stderr, /connected \d+\/\d+ +joined \d+ +sent \d+/, 'progress line');
    const { result } = resultFile.parse(JSON.parse(readFileSync(json, 'utf8')));
    assert.equal(result.sockets.joined, 500);
    assert.ok(result.messages.accepted >= 200, `accepted ${result.messages.accepted}`);
    // Every room has 100 members, the sender included.
    assert.equal(result.messages.expectedDeliveries, result.messages.accepted * 100);
    assert.equal(result.messages.delivered, result.messages.expectedDeliveries);
    assert.equal(result.messages.lost, 0);
    assert.equal(result.messages.doubled, 0);
    assert.ok(result.restarts.killed >= 10, `killed ${result.restarts.killed}`);
    assert.equal(result.restarts.phxErrors, result.restarts.rejoins);
    assert.ok(result.restarts.phxErrors >= result.restarts.killed * 0.9, 'a killed session is seen as phx_error by its client');
    assert.ok(result.serverRssBytes.before !== undefined && result.serverRssBytes.after !== undefined, 'RSS read from /metrics');
    assert.deepEqual(
      { ...result.announcements, latencyMs: undefined },
      { made: 2, expected: 1_000, delivered: 1_000, lost: 0, doubled: 0, latencyMs: undefined },
    );
    assert.match(run.stdout, /announcements made \/ expected +2 \/ 1,000/);
    assert.deepEqual(result.failures, []);
  });

  it('--run-id joins an earlier run\'s rooms, whose messages are the history; --users makes the users new to them', async () => {
    const seed = join(dir, 'seed.json');
    const seeded = await cli(['--url', server.url, '--sockets', '4', '--rooms', '2', '--senders', '2', '--rate', '0', '--messages', '10', '--ramp', '100', '--run-id', 'hist1', '--json', seed]);
    assert.equal(seeded.code, 0, `stdout:\n${seeded.stdout}\nstderr:\n${seeded.stderr}`);
    const seedResult = z.object({ result: z.object({ messages: z.object({ accepted: z.number() }) }) });
    assert.equal(seedResult.parse(JSON.parse(readFileSync(seed, 'utf8'))).result.messages.accepted, 10);
    const json = join(dir, 'history.json');
    const run = await cli(['--url', server.url, '--sockets', '6', '--rooms', '2', '--senders', '0', '--duration', '0', '--ramp', '100', '--run-id', 'hist1', '--users', 'hist2', '--json', json]);
    assert.equal(run.code, 0, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    const { result } = z.object({ result: z.object({ sockets: z.object({ joined: z.number(), history: z.number() }) }) }).parse(JSON.parse(readFileSync(json, 'utf8')));
    assert.equal(result.sockets.joined, 6);
    assert.equal(result.sockets.history, 6 * 5, 'each of the 6 joins got its room\'s 5 messages');
    assert.match(run.stdout, /history in the join replies +30 messages/);
    const users = await db.sql`SELECT name FROM users WHERE name LIKE 'lthist2u%' ORDER BY name`;
    assert.deepEqual(users.map((row) => row['name']), ['lthist2u0', 'lthist2u1', 'lthist2u2', 'lthist2u3', 'lthist2u4', 'lthist2u5'], 'new users');
  });
});

describe('loadtest options', () => {
  it('explains each bad option and exits 2', async () => {
    const bad = await cli(['--sockets', 'many', '--rooms', '0', '--bogus', '1', '--url', 'http://10.1.2.3:4000']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sockets must be a number/);
    assert.match(bad.stderr, /--rooms must be at least 1/);
    assert.match(bad.stderr, /unknown option --bogus/);
    assert.match(bad.stderr, /--url must be on this machine/);
    assert.match(bad.stderr, /see --help/);
    assert.equal(bad.stdout, '');

    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    for (const option of ['--url', '--sockets', '--rooms', '--senders', '--rate', '--duration', '--ramp', '--kill-sessions', '--announce', '--run-id', '--users', '--json']) {
      assert.ok(help.stdout.includes(option), `--help explains ${option}`);
    }
  });

  it('refuses --kill-sessions without the admin token before opening any socket', async () => {
    const env = { ADMIN_TOKEN: '' };
    const run = await cli(['--url', 'http://127.0.0.1:9', '--kill-sessions', '1'], env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--kill-sessions needs the admin token: set ADMIN_TOKEN/);
  });

  it('parses values, defaults and relations between options', () => {
    const ok = parseArgs(['--sockets=2000', '--rooms', '4', '--rate', '0', '--url', 'ws://localhost:4000']);
    assert.ok(ok.ok);
    assert.equal(ok.options.sockets, 2_000);
    assert.equal(ok.options.rate, 0);
    assert.equal(ok.options.senders, 10);
    const cases: Array<[string[], RegExp]> = [
      [['--senders', '20', '--sockets', '10'], /--senders cannot be more than --sockets/],
      [['--sockets'], /--sockets needs a value/],
      [['--ramp', '0'], /--ramp must be more than 0/],
      [['--duration', '-1'], /--duration must be 0 or more/],
      [['--sockets', '1.5'], /--sockets must be a whole number/],
      [['stray'], /unexpected argument 'stray'/],
      [['--url', 'http://example.com'], /--url must be on this machine/],
      [['--run-id', 'Bad Id'], /--run-id must be 1 to 12 of a-z 0-9/],
      [['--users', 'Bad Id'], /--users must be 1 to 12 of a-z 0-9/],
      [['--announce', '11'], /--announce must be at most 10/],
    ];
    for (const [argv, message] of cases) {
      const parsed = parseArgs(argv);
      assert.ok(!parsed.ok && !parsed.help, argv.join(' '));
      assert.ok(parsed.errors.some((error) => message.test(error)), `${argv.join(' ')} -> ${parsed.errors.join('; ')}`);
    }
  });

  it('sizes workers under the open-files limit and says which limit stops it', () => {
    const limit = { soft: 1_024, hard: 20_000 };
    const fits = layoutWorkers(19_000, undefined, limit);
    assert.deepEqual(fits, { ok: true, workers: 2, socketsPerWorker: 9_500, raiseSoftLimitTo: 20_000 });
    const tooMany = layoutWorkers(50_000, 1, limit);
    assert.ok(!tooMany.ok);
    assert.match(tooMany.error, /hard limit \(RLIMIT_NOFILE\) here is 20,000 per process/);
    assert.match(tooMany.error, /--workers 3 or more/);
    assert.deepEqual(sourceAddresses(5_000, '127.0.0.1'), ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    assert.equal(sourceAddresses(1_000_000, '127.0.0.1').length, 254);
    assert.deepEqual(sourceAddresses(30_000, '::1'), []);
  });
});
