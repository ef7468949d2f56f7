import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BUILDS, currentPlatform } from '../src/endpoint/uws.js';
import { nodeBinary } from './support/node-lts.js';
import { runServer, startServerProcess } from './support/server-process.js';

/**
 * The server under the current Node LTS lines, with the official binaries from
 * the npm registry: it runs on a native uWS, or it refuses to start with one
 * message saying why. It never runs the pure-JS fallback. Which of the two
 * happens depends on this machine's glibc: v20.57's binaries, the only ones for
 * Node 22 and 24, need glibc 2.38.
 */

const { glibc } = currentPlatform();
const [major = 0, minor = 0] = (glibc ?? '0.0').split('.').map(Number);
const native = glibc === undefined || major > 2 || (major === 2 && minor >= 38);
const FALLBACK = /fallback implementation|Falling back/i;

const logLines = (lines: readonly string[]) => lines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);

for (const nodeMajor of [22, 24]) {
  describe(`the server on Node ${nodeMajor}`, () => {
    it(native ? 'runs on the native v20.57 build' : 'refuses to start: exit 1, one message naming Node, platform, glibc and what to do', async () => {
      const node = await nodeBinary(nodeMajor);
      const { stdout: version } = await promisify(execFile)(node, ['--version']);
      assert.match(version, new RegExp(`^v${nodeMajor}\\.`));
      if (native) {
        const server = await startServerProcess({}, 60_000, { node });
        try {
          const health = (await (await fetch(`${server.url}/health`)).json()) as { uws: { package: string; binary: string } };
          assert.equal(health.uws.package, BUILDS[0]?.package);
          assert.match(health.uws.binary, /_(127|137)\.node$/);
        } finally {
          assert.equal(await server.stop(), 0);
        }
        assert.doesNotMatch(server.lines.join('\n'), FALLBACK);
        return;
      }
      const { lines, exited } = runServer({}, { node });
      assert.equal(await exited, 1);
      const parsed = logLines(lines);
      const fatal = parsed.filter((line) => line['level'] === 60);
      assert.equal(fatal.length, 1, lines.join('\n'));
      const message = String(fatal[0]?.['msg']);
      assert.match(message, new RegExp(`Node v${nodeMajor}\\.\\d+\\.\\d+ \\(ABI \\d+\\) on ${process.platform}-${process.arch}, glibc ${(glibc ?? '').replace('.', '\\.')}`));
      assert.match(message, /GLIBC_2\.38/);
      assert.match(message, /run Node 20 here, or Node 22\/24 on a system with glibc 2\.38 or newer/);
      assert.equal(fatal[0]?.['reason'], 'no_native_build');
      // Refused before anything started: no listener, no database, no fallback's console lines.
      assert.ok(!parsed.some((line) => line['msg'] === 'listening'));
      assert.doesNotMatch(lines.join('\n'), FALLBACK);
    });
  });
}
