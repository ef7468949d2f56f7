import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUILDS } from '../src/endpoint/uws.js';
import { runServer, startServerProcess } from './support/server-process.js';

describe('the server process', () => {
  it('answers GET /health on native uWS and stops cleanly on SIGTERM, in reverse order', async () => {
    const server = await startServerProcess();
    const health = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(health['status'], 'ok');
    const uws = health['uws'] as { package: string; version: string; binary: string };
    assert.ok(BUILDS.some((build) => build.package === uws.package), `a known native build: ${JSON.stringify(uws)}`);
    assert.match(uws.version, /^20\.\d+\.\d+/);
    assert.equal(uws.binary, `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
    assert.equal(typeof health['uptime_s'], 'number');
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    const started = Date.now();
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.ok(Date.now() - started < 10_000);
    const messages = server.lines.map((line) => (JSON.parse(line) as { msg: string }).msg);
    const [shuttingDown, stopped] = [messages.indexOf('shutting down'), messages.indexOf('stopped')];
    assert.ok(shuttingDown >= 0 && stopped > shuttingDown, `'shutting down' then 'stopped' in:\n${messages.join('\n')}`);
    await assert.rejects(fetch(`${server.url}/health`), 'the port is closed after shutdown');
  });

  it('also stops on SIGINT (Ctrl-C) with exit code 0', async () => {
    const server = await startServerProcess();
    assert.equal(await server.stop('SIGINT'), 0);
  });

  it('logs pino JSON lines carrying the actor path', async () => {
    const server = await startServerProcess();
    await server.stop();
    const parsed = server.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const listening = parsed.find((line) => line['msg'] === 'listening');
    assert.equal(listening?.['actor'], '/app/endpoint/http');
    assert.equal(typeof listening?.['level'], 'number');
  });

  it('refuses a bad configuration value, naming the variable, with a non-zero exit', async () => {
    const { lines, exited } = runServer({ PORT: 'not-a-port' });
    assert.equal(await exited, 2);
    assert.match(lines.join('\n'), /invalid configuration: PORT/);
    const bad = runServer({ LOG_LEVEL: 'loud' });
    assert.equal(await bad.exited, 2);
    assert.match(bad.lines.join('\n'), /LOG_LEVEL/);
  });

  it('fails to start with a clear error when the port is taken', async () => {
    const first = await startServerProcess();
    const second = runServer({ PORT: String(first.port) });
    assert.equal(await second.exited, 1);
    const fatal = second.lines.find((line) => line.includes('application failed to start'));
    assert.match(fatal ?? '', /cannot listen on 127\.0\.0\.1/);
    await first.stop();
  });
});
