import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from './support/db.js';
import { eventually } from './support/probe.js';
import { startServerProcess } from './support/server-process.js';

/**
 * A real server process that hits a bug no handler catches: it logs the fault
 * with its stack, stops the tree in reverse order, and exits 1.
 */

interface Line {
  readonly msg: string;
  readonly level: number;
  readonly reason?: string;
  readonly child?: string;
  readonly actor?: string;
  readonly err?: { readonly stack?: string };
  readonly value?: string;
  readonly time?: number;
}

describe('process guard', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  before(async () => {
    db = await freshDatabase();
  });
  after(async () => {
    await db?.drop();
  });

  for (const [fault, reason, message] of [
    ['rejection', 'unhandled_rejection', 'deliberate unhandled rejection (test)'],
    ['exception', 'uncaught_exception', 'deliberate uncaught exception (test)'],
    ['value', 'unhandled_rejection', 'a plain string, no stack'],
  ] as const) {
    it(`an ${reason.replace('_', ' ')} (${fault}): logged with its stack or value, the tree stopped in order, exit 1`, async () => {
      const server = await startServerProcess({ FAULT: fault, LOG_LEVEL: 'debug', DATABASE_URL: db.url }, 60_000, { script: 'dist/test/support/faulty-main.js' });
      assert.equal((await fetch(`${server.url}/health`)).status, 200);
      server.child.kill('SIGUSR2');
      await eventually(() => server.child.exitCode !== null, 20_000);
      assert.equal(server.child.exitCode, 1);
      const lines = server.lines.map((line) => JSON.parse(line) as Line);
      const faults = lines.filter((line) => line.reason === reason);
      assert.equal(faults.length, 1, 'one fault, one line');
      const fatal = faults[0];
      assert.ok(fatal, `a line with reason ${reason} in:\n${server.lines.join('\n')}`);
      assert.equal(fatal.level, 60, 'fatal');
      if (fault === 'value') assert.equal(fatal.value, message, 'a rejection that is not an Error: its value');
      else assert.match(fatal.err?.stack ?? '', new RegExp(`${message.replace(/[()]/g, '\\$&')}[\\s\\S]*faulty-main`), 'the stack points at the fault');
      // Ordered by each line's time: under load, lines captured from the pipe may come over out of order.
      const after = lines.filter((line) => (line.time ?? 0) >= (fatal.time ?? Number.POSITIVE_INFINITY));
      const timeOf = (msg: string) => after.find((line) => line.msg === msg)?.time ?? Number.NaN;
      assert.ok(timeOf('shutting down') <= timeOf('stopping children') && timeOf('stopping children') <= timeOf('stopped'), server.lines.join('\n'));
      // The root's children stop in reverse start order: the observer, then the Endpoint (and its sockets).
      const rootStops = after.filter((line) => line.msg === 'child stopped' && line.actor === '/app');
      assert.deepEqual(rootStops.map((line) => line.child).sort(), ['endpoint', 'observer', 'presence', 'pubsub', 'repo']);
      const at = (child: string) => rootStops.find((line) => line.child === child)?.time ?? Number.NaN;
      assert.ok(at('observer') <= at('endpoint') && at('endpoint') <= at('presence') && at('presence') <= at('pubsub') && at('pubsub') <= at('repo'), server.lines.join('\n'));
    });
  }
});
