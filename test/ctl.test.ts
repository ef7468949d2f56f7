import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './support/app.js';
import { ADMIN_TOKEN, Member, freePort } from './support/ops.js';
import { eventually } from './support/probe.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run ctl -- ...args` without npm's own lines: node on the compiled dist/src/cli/ctl.js. */
function ctl(args: readonly string[], env: Record<string, string | undefined>): Promise<Run> {
  const merged: Record<string, string | undefined> = { ...process.env, ADMIN_TOKEN: undefined, CHAT_URL: undefined, ...env };
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/src/cli/ctl.js', ...args], {
    env: Object.fromEntries(Object.entries(merged).filter((e): e is [string, string] => e[1] !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('npm run ctl against a running server', () => {
  let app: TestApp;
  let member: Member;
  const env = () => ({ ADMIN_TOKEN, CHAT_URL: app.httpUrl });

  before(async () => {
    const port = await freePort();
    app = await startTestApp({ env: { ADMIN_TOKEN, PORT: String(port) } });
    member = new Member(app.wsUrl, 'olive', 'ctl');
    assert.equal((await member.join()).status, 'ok');
  });
  after(async () => {
    member.leave();
    await app.stop();
  });

  it('usage: --help prints it (exit 0); a bad command or missing token exits 2 with a message', async () => {
    const [help, none, unknown, badRandom, noToken] = await Promise.all([
      ctl(['--help'], {}),
      ctl([], env()),
      ctl(['frobnicate'], env()),
      ctl(['kill', '--random', 'lots'], env()),
      ctl(['tree'], { CHAT_URL: app.httpUrl }),
    ]);
    const noName = await ctl(['disconnect'], env());
    assert.equal(noName.code, 2);
    assert.match(noName.stderr, /disconnect whom\? a user name/);
    assert.match(help.stdout, /disconnect <name>/);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /usage: npm run ctl/);
    assert.match(help.stdout, /kill --random N/);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no command given/);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command frobnicate/);
    assert.equal(badRandom.code, 2);
    assert.match(badRandom.stderr, /--random wants a whole number/);
    assert.equal(noToken.code, 2);
    assert.match(noToken.stderr, /ADMIN_TOKEN is not set/);
  });

  it('errors from the server: down, wrong token, unknown session each exit 1 with a clear message', async () => {
    const closedPort = await freePort();
    const [down, wrong, unknown] = await Promise.all([
      ctl(['tree', '--url', `http://127.0.0.1:${closedPort}`], { ADMIN_TOKEN }),
      ctl(['tree'], { ...env(), ADMIN_TOKEN: 'not-the-admin-token-at-all' }),
      ctl(['kill', 'no-such-session'], env()),
    ]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, new RegExp(`cannot reach the server at http://127.0.0.1:${closedPort}`));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /unauthorized/);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no session with id no-such-session/);
  });

  it('tree draws the supervision tree, indented, with restart counts; sessions lists them', async () => {
    const [tree, sessions] = await Promise.all([ctl(['tree'], env()), ctl(['sessions'], env())]);
    assert.equal(tree.code, 0, tree.stderr);
    const lines = tree.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'app  supervisor rest_for_one  restarts 0  5 children');
    assert.match(tree.stdout, /^├── repo {2}worker {2}restarts 0$/m);
    assert.match(tree.stdout, /^├── endpoint {2}supervisor one_for_all {2}restarts 0 {2}2 children$/m);
    assert.match(tree.stdout, /^└── observer {2}worker {2}restarts 0$/m);
    assert.match(tree.stdout, /^│ {3}├── sessions {2}dynamic_supervisor {2}restarts 0 {2}1 child$/m);
    assert.match(tree.stdout, /^│ {3}│ {3}└── [0-9a-z]+-[0-9a-f]{6} {2}worker {2}restarts 0$/m);
    assert.equal(sessions.code, 0, sessions.stderr);
    assert.match(sessions.stdout, /^ID +USER +RESTARTS +MAILBOX +AGE +TOPICS$/m);
    assert.match(sessions.stdout, /olive +0 +0 +\d+s +room:ctl/);
    assert.match(sessions.stdout, /^1 session$/m);
  });

  it('kill <id>, kill --random N and kill repo crash for real; the tree shows the restarts', async () => {
    const id = (await app.sessions())[0]?.id;
    assert.ok(id);
    const one = await ctl(['kill', id], env());
    assert.equal(one.code, 0, one.stderr);
    assert.equal(one.stdout.trim(), `killed session ${id}; its supervisor restarts it`);
    await eventually(() => member.channel.state === 'joined' && member.errors.length === 1, 10_000);

    const random = await ctl(['kill', '--random', '5'], env());
    assert.equal(random.code, 0, random.stderr);
    assert.equal(random.stdout.trim(), `killed 1 session (only 1 alive): ${id}`);
    await eventually(() => member.channel.state === 'joined' && member.errors.length === 2, 10_000);

    const repo = await ctl(['kill', 'repo'], env());
    assert.equal(repo.code, 0, repo.stderr);
    assert.match(repo.stdout, /^killed \/app\/repo; /);
    await eventually(async () => /^├── repo {2}worker {2}restarts 1$/m.test((await ctl(['tree'], env())).stdout), 15_000);
    // rest_for_one took the Endpoint down too: the client is back on a fresh socket and chats on.
    await eventually(async () => (await member.say('after ctl kill repo')).status === 'ok', 15_000);
  });

  it('stats prints each node\'s numbers; disconnect NAME closes that user\'s sockets; a bad or unknown name exits 1', async () => {
    await eventually(async () => /^\S+ \* +1 +1 /m.test((await ctl(['stats'], env())).stdout), 10_000);
    const stats = await ctl(['stats'], env());
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /^NODE +SOCKETS +SESSIONS +JOINS\/S +IN\/S +OUT\/S +RESTARTS\/S$/m);
    assert.match(stats.stdout, /^mailboxes on \S+: repo \d+, pubsub \d+, presence \d+, sessions \d+, http \d+$/m);
    assert.match(stats.stdout, /^chaos: off$/m);

    const closed = new Promise<{ code: number; reason: string }>((resolve) => member.socket.onClose((event: unknown) => resolve(event as { code: number; reason: string })));
    const kicked = await ctl(['disconnect', 'OLIVE'], env());
    assert.equal(kicked.code, 0, kicked.stderr);
    assert.equal(kicked.stdout.trim(), 'disconnected olive: 1 socket on this node, and theirs on every other node');
    const close = await closed;
    assert.deepEqual([close.code, close.reason], [1001, 'kicked']);

    const [bad, unknown] = await Promise.all([ctl(['disconnect', 'no spaces'], env()), ctl(['disconnect', 'nobody-here'], env())]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /server answered 400: name may contain only letters, digits and _ - \./);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no user named nobody-here/);
  });
});
