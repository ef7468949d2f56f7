import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Every setting the server reads from the environment, with its default. */
const configSchema = z.object({
  PORT: port.default(4000),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_NAME: z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'letters, digits and _ . @ - only').optional(),
  SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  PG_PORT: port.optional(),
  DB_POOL_SIZE: positiveInt.max(100).default(10),
  DB_TIMEOUT_MS: positiveInt.default(5_000),
  PRESENCE_BATCH_MS: positiveInt.max(5_000).default(250),
  // Rooms with more distinct users online (all nodes) get presence_summary instead of the full presence_state/diffs.
  PRESENCE_FULL_LIMIT: positiveInt.default(1_000),
  ORIGINS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')),
  MAX_FRAME_BYTES: positiveInt.max(1_048_576).default(65_536),
  MAX_CHANNELS: positiveInt.default(100),
  RATE_LIMIT_PER_SEC: positiveInt.default(20),
  RATE_LIMIT_BURST: positiveInt.default(40),
  // Joins take a token of their own too: a client rejoining every channel at once fits, a join loop does not.
  JOIN_RATE_PER_SEC: positiveInt.default(5),
  JOIN_BURST: positiveInt.default(100),
  // Sockets per client address (0: no limit); loopback is not counted. TRUST_PROXY: proxies in front that append to X-Forwarded-For.
  MAX_SOCKETS_PER_IP: z.coerce.number().int().min(0).default(100),
  TRUST_PROXY: z.coerce.number().int().min(0).max(10).default(0),
  // Presence metas (tabs) one name may hold in one topic.
  MAX_TABS_PER_USER: positiveInt.max(1_000).default(20),
  SLOW_READER_BYTES: positiveInt.default(1_048_576),
  IDLE_TIMEOUT_S: z.coerce.number().int().min(8).max(956).multipleOf(4, 'must be a multiple of 4 (uWS timer resolution)').default(60),
  MAX_SESSIONS: positiveInt.optional(),
  // Broadcasts cross to every node on the same database (LISTEN/NOTIFY); off, a node is alone.
  CLUSTER: z.enum(['0', '1']).default('0').transform((value) => value === '1'),
  PRESENCE_HEARTBEAT_MS: positiveInt.max(60_000).default(1_000),
  // A node silent this long is taken for dead: its presences leave on every other node.
  NODE_TIMEOUT_MS: positiveInt.default(10_000),
  // The admin API and page exist only when this is set; a short token would be guessable.
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  // Processes serving one port (SO_REUSEPORT), one per core is the point; 1 is this process alone.
  WORKERS: positiveInt.max(64).default(1),
  // claim: a name is the first browser token's for good; open: an offline name may be taken by another browser.
  NAMES: z.enum(['claim', 'open']).default('claim'),
  // Signed tokens (JWT) from an application with its own accounts: one of the two, HS256 or RS256/ES256.
  AUTH_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (HS256 wants 256 bits)').optional(),
  AUTH_JWT_PUBLIC_KEY: z
    .string()
    .transform((pem, ctx): SigningKey | typeof z.NEVER => {
      const key = publicKey(pem);
      if (typeof key === 'string') ctx.addIssue({ code: 'custom', message: key });
      return typeof key === 'string' ? z.NEVER : key;
    })
    .optional(),
})
  .refine((config) => config.WORKERS === 1 || config.PORT !== 0, {
    path: ['WORKERS'],
    message: 'needs a fixed PORT (with PORT=0 every worker would pick a port of its own)',
  })
  .refine((config) => config.AUTH_JWT_SECRET === undefined || config.AUTH_JWT_PUBLIC_KEY === undefined, {
    path: ['AUTH_JWT_PUBLIC_KEY'],
    message: 'set AUTH_JWT_SECRET or AUTH_JWT_PUBLIC_KEY, not both',
  });

/** A verification key for signed tokens and the one algorithm it is used with (never what a token's header asks for). */
interface SigningKey {
  readonly key: KeyObject;
  readonly algorithm: 'RS256' | 'ES256';
}

function publicKey(pem: string): SigningKey | string {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)';
  }
  if (key.asymmetricKeyType === 'rsa') return { key, algorithm: 'RS256' };
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return { key, algorithm: 'ES256' };
  return 'must be an RSA key (RS256) or a P-256 EC key (ES256)';
}

export type Config = z.infer<typeof configSchema>;

type ConfigError = { readonly variable: string; readonly message: string };

/** Parses the environment; the error names each variable that is wrong, so start-up can say so and exit. */
export function parseConfig(env: NodeJS.ProcessEnv): { ok: true; value: Config } | { ok: false; error: ConfigError[] } {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues.map((issue) => ({
      variable: String(issue.path[0] ?? '(environment)'),
      message: issue.message,
    })),
  };
}
