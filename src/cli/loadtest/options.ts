import { z } from 'zod';

/**
 * The load tester's command line: `--name value` pairs, checked by one zod
 * schema so a bad value stops the run before any socket opens, with a message
 * that names the option.
 */

/** Load goes to this machine only (the loopback range): a typo must not point it at anyone else. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const count = (name: string, min: number, max: number) =>
  z.coerce
    .number({ error: `--${name} must be a number` })
    .int(`--${name} must be a whole number`)
    .min(min, `--${name} must be at least ${min}`)
    .max(max, `--${name} must be at most ${max.toLocaleString('en-US')}`);

const rate = (name: string, max: number) =>
  z.coerce
    .number({ error: `--${name} must be a number` })
    .min(0, `--${name} must be 0 or more`)
    .max(max, `--${name} must be at most ${max.toLocaleString('en-US')}`);

export const optionsSchema = z
  .object({
    url: z
      .string()
      .url('--url must be a URL such as http://127.0.0.1:4000')
      .refine((value) => /^(https?|wss?):$/.test(new URL(value).protocol), '--url must be http://, https://, ws:// or wss://')
      .refine((value) => isLoopback(new URL(value).hostname), '--url must be on this machine (127.0.0.0/8, localhost or [::1])')
      .default('http://127.0.0.1:4000'),
    sockets: count('sockets', 1, 200_000).default(1_000),
    rooms: count('rooms', 1, 10_000).default(10),
    senders: count('senders', 0, 10_000).default(10),
    rate: rate('rate', 1_000_000).default(50),
    duration: rate('duration', 3_600).default(30),
    ramp: rate('ramp', 100_000).default(1_000),
    'kill-sessions': rate('kill-sessions', 10_000).default(0),
    announce: count('announce', 0, 10).default(0),
    'run-id': z.string().regex(/^[a-z0-9]{1,12}$/, '--run-id must be 1 to 12 of a-z 0-9').optional(),
    users: z.string().regex(/^[a-z0-9]{1,12}$/, '--users must be 1 to 12 of a-z 0-9').optional(),
    messages: count('messages', 1, 10_000_000).optional(),
    workers: count('workers', 1, 64).optional(),
    json: z.string().min(1, '--json needs a file name').optional(),
    'body-bytes': count('body-bytes', 40, 4_000).default(100),
  })
  .strict()
  .refine((o) => o.senders <= o.sockets, { message: '--senders cannot be more than --sockets', path: ['senders'] })
  .refine((o) => o.rooms <= o.sockets, { message: '--rooms cannot be more than --sockets (every room needs a member)', path: ['rooms'] })
  .refine((o) => o.ramp > 0, { message: '--ramp must be more than 0 connections/s', path: ['ramp'] })
  .refine((o) => o.senders === 0 || o.duration > 0 || o.messages !== undefined, {
    message: 'with senders, give --duration > 0 or --messages N',
    path: ['duration'],
  });

export type LoadtestOptions = z.infer<typeof optionsSchema>;

export const HELP = `npm run loadtest -- [options]

Opens many Phoenix Channels sockets against a chat server on this machine, joins
them to rooms, sends messages and checks every delivery (each body carries a
unique id): nothing lost, nothing twice.

  --url URL            server (http:// or ws://, loopback only)    [http://127.0.0.1:4000]
  --sockets N          sockets to open, each joins one room          [1000]
  --rooms R            rooms, sockets spread evenly (room:lt-0 ...)  [10]
  --senders S          sockets that also send messages               [10]
  --rate MSGS          messages/s over all senders; 0 = as fast as
                       accepted (each sender waits for its reply)    [50]
  --duration S         seconds of sending once every socket joined   [30]
  --messages N         stop after N messages in all (with --rate or
                       instead of --duration)
  --ramp CONNS         new connections per second                    [1000]
  --kill-sessions K    kill K random server sessions per second
                       through the admin API (needs ADMIN_TOKEN in the
                       environment); the run then fails unless
                       lost = 0 and doubled = 0                      [0]
  --announce N         after the drain, N announcements through the
                       admin API (needs ADMIN_TOKEN), each awaited
                       until every joined socket has it once          [0]
  --run-id ID          rooms of an earlier run with this id (room:ltID-n),
                       whose messages are then the joins' history
                                                       [a new one]
  --users ID           users named ltIDu<n> (ltIDu0 ...): another ID
                       than the rooms' makes every user new to them
                                                       [the run id]
  --workers W          client processes (default: one per 10,000
                       sockets; each stays under its open-files limit)
  --body-bytes B       size of each message body                     [100]
  --json FILE          also write the results as JSON
  --help               this text

The server's rate limit applies per socket (RATE_LIMIT_PER_SEC, default 20):
--rate / --senders above it gets rate_limited replies, counted as refused.
Exit code: 0 when every accepted message reached every member exactly once,
1 when not (or the run failed), 2 on a usage error.`;

type ParsedArgs = { ok: true; options: LoadtestOptions } | { ok: false; help: true } | { ok: false; help: false; errors: string[] };

/** `--name value` or `--name=value`; no positional arguments. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const raw: Record<string, string> = {};
  const errors: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { ok: false, help: true };
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (match === null) {
      errors.push(`unexpected argument '${arg}' (options look like --sockets 1000)`);
      continue;
    }
    const name = match[1]!;
    let value = match[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) {
        errors.push(`--${name} needs a value`);
        continue;
      }
      value = next;
      i += 1;
    }
    raw[name] = value;
  }
  if (errors.length > 0) return { ok: false, help: false, errors };
  const parsed = optionsSchema.safeParse(raw);
  if (parsed.success) return { ok: true, options: parsed.data };
  return {
    ok: false,
    help: false,
    errors: parsed.error.issues.map((issue) =>
      issue.code === 'unrecognized_keys' ? `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `--${k}`).join(', ')}` : issue.message,
    ),
  };
}
