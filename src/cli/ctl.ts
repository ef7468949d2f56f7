import { z } from 'zod';
import type { Result } from '../../supervision/result.js';
import { disconnectReply, killActorReply, killSessionsReply, request, sessionsReply, statsReply, treeReply, type Client } from './ctl-api.js';
import { formatSessions, formatStats, formatTree } from './ctl-format.js';

/**
 * npm run ctl -- <command>: the admin API from a terminal.
 * Exit codes: 0 done, 1 the server refused or could not be reached, 2 usage.
 */

const USAGE = `usage: npm run ctl -- [--url URL] <command>

commands:
  tree                 the supervision tree, with kinds, restart counts and child counts
  sessions             the sessions: id, user, restarts, mailbox, age, topics (the first 200)
  stats                each node's sockets, sessions, joins/s, messages in/out per s, restarts/s;
                       this node's core mailboxes and chaos
  disconnect <name>    close every socket of that user on every node (the page says so; it does not reconnect by itself)
  kill <session-id>    crash one session (its supervisor restarts it; its client rejoins)
  kill --random N      crash N sessions chosen at random
  kill repo|pubsub|presence|endpoint
                       crash a core actor (the application supervisor restarts it, rest_for_one)

options:
  --url URL            the server (default: $CHAT_URL or http://127.0.0.1:4000)
  -h, --help           this text

environment:
  ADMIN_TOKEN          the server's admin token (required)
  CHAT_URL             the server, when --url is not given`;

const ACTORS = new Set(['repo', 'pubsub', 'presence', 'endpoint']);
const DEFAULT_URL = 'http://127.0.0.1:4000';

type Command =
  | { readonly kind: 'help' }
  | { readonly kind: 'tree' }
  | { readonly kind: 'sessions' }
  | { readonly kind: 'stats' }
  | { readonly kind: 'disconnect'; readonly name: string }
  | { readonly kind: 'kill_session'; readonly id: string }
  | { readonly kind: 'kill_random'; readonly count: number }
  | { readonly kind: 'kill_actor'; readonly id: string };

const count = z.coerce.number().int().min(1);
const url = z.string().url();

function parseArgs(argv: readonly string[]): Result<{ command: Command; url: string | undefined }, string> {
  const words: string[] = [];
  let urlFlag: string | undefined;
  let random: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '-h' || arg === '--help') return { ok: true, value: { command: { kind: 'help' }, url: undefined } };
    if (arg === '--url') urlFlag = argv[++i] ?? '';
    else if (arg.startsWith('--url=')) urlFlag = arg.slice('--url='.length);
    else if (arg === '--random') random = argv[++i] ?? '';
    else if (arg.startsWith('--random=')) random = arg.slice('--random='.length);
    else if (arg.startsWith('-')) return { ok: false, error: `unknown option ${arg}` };
    else words.push(arg);
  }
  if (urlFlag !== undefined && !url.safeParse(urlFlag).success) return { ok: false, error: `--url must be a URL, got "${urlFlag}"` };
  const [verb, target, ...rest] = words;
  const done = (command: Command) => ({ ok: true as const, value: { command, url: urlFlag } });
  if (rest.length > 0) return { ok: false, error: `unexpected ${rest.join(' ')}` };
  switch (verb) {
    case 'tree':
    case 'sessions':
    case 'stats':
      if (target !== undefined || random !== undefined) return { ok: false, error: `${verb} takes no arguments` };
      return done({ kind: verb });
    case 'disconnect':
      if (random !== undefined) return { ok: false, error: 'disconnect takes a user name, not --random' };
      if (target === undefined) return { ok: false, error: 'disconnect whom? a user name' };
      return done({ kind: 'disconnect', name: target });
    case 'kill': {
      if (random !== undefined) {
        if (target !== undefined) return { ok: false, error: 'kill takes either a target or --random N, not both' };
        const n = count.safeParse(random);
        return n.success ? done({ kind: 'kill_random', count: n.data }) : { ok: false, error: `--random wants a whole number ≥ 1, got "${random}"` };
      }
      if (target === undefined) return { ok: false, error: 'kill what? a session id, --random N, or repo|pubsub|presence|endpoint' };
      return done(ACTORS.has(target) ? { kind: 'kill_actor', id: target } : { kind: 'kill_session', id: target });
    }
    case undefined:
      return { ok: false, error: 'no command given' };
    default:
      return { ok: false, error: `unknown command ${verb}` };
  }
}

async function run(command: Exclude<Command, { kind: 'help' }>, client: Client): Promise<Result<string, string>> {
  switch (command.kind) {
    case 'tree': {
      const reply = await request(client, 'GET', '/admin/tree?limit=100', treeReply);
      return reply.ok ? { ok: true, value: formatTree(reply.value.tree) } : reply;
    }
    case 'sessions': {
      const reply = await request(client, 'GET', '/admin/sessions?limit=200', sessionsReply);
      return reply.ok ? { ok: true, value: formatSessions(reply.value) } : reply;
    }
    case 'stats': {
      const reply = await request(client, 'GET', '/admin/stats', statsReply);
      return reply.ok ? { ok: true, value: formatStats(reply.value) } : reply;
    }
    case 'disconnect': {
      const reply = await request(client, 'POST', `/admin/users/${encodeURIComponent(command.name)}/disconnect`, disconnectReply);
      if (!reply.ok) return reply;
      const { disconnected, localSockets } = reply.value;
      return { ok: true, value: `disconnected ${disconnected}: ${localSockets} socket${localSockets === 1 ? '' : 's'} on this node, and theirs on every other node` };
    }
    case 'kill_session': {
      const reply = await request(client, 'POST', `/admin/sessions/${encodeURIComponent(command.id)}/kill`, killSessionsReply);
      return reply.ok ? { ok: true, value: `killed session ${command.id}; its supervisor restarts it` } : reply;
    }
    case 'kill_random': {
      const reply = await request(client, 'POST', `/admin/sessions/kill?count=${command.count}`, killSessionsReply);
      if (!reply.ok) return reply;
      const ids = reply.value.killed.map((k) => k.id);
      const short = ids.length < command.count ? ` (only ${ids.length} alive)` : '';
      return { ok: true, value: `killed ${ids.length} session${ids.length === 1 ? '' : 's'}${short}${ids.length > 0 ? `: ${ids.join(' ')}` : ''}` };
    }
    case 'kill_actor': {
      const reply = await request(client, 'POST', `/admin/actors/${command.id}/kill`, killActorReply);
      return reply.ok ? { ok: true, value: `killed ${reply.value.killed.path}; the application supervisor restarts it and what depends on it` } : reply;
    }
  }
}

async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseArgs(argv);
  if (!parsed.ok) {
    process.stderr.write(`ctl: ${parsed.error}\n\n${USAGE}\n`);
    return 2;
  }
  const { command } = parsed.value;
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const token = env['ADMIN_TOKEN'];
  if (token === undefined || token === '') {
    process.stderr.write('ctl: ADMIN_TOKEN is not set (export the token the server was started with)\n');
    return 2;
  }
  const fromEnv = env['CHAT_URL'];
  const target = parsed.value.url ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_URL);
  if (!url.safeParse(target).success) {
    process.stderr.write(`ctl: CHAT_URL must be a URL, got "${target}"\n`);
    return 2;
  }
  const result = await run(command, { url: target, token });
  if (!result.ok) {
    process.stderr.write(`ctl: ${result.error}\n`);
    return 1;
  }
  process.stdout.write(`${result.value}\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2), process.env);
