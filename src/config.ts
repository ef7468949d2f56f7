import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

/** Every setting the server reads from the environment, with its default. */
export const configSchema = z.object({
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
  PRESENCE_BATCH_MS: positiveInt.max(5_000).default(25),
  ORIGINS: z
    .string()
    .default('')
    .transform((list) => list.split(',').map((origin) => origin.trim()).filter((origin) => origin !== '')),
  MAX_FRAME_BYTES: positiveInt.max(1_048_576).default(65_536),
  MAX_CHANNELS: positiveInt.default(100),
  RATE_LIMIT_PER_SEC: positiveInt.default(20),
  RATE_LIMIT_BURST: positiveInt.default(40),
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
}).refine((config) => config.WORKERS === 1 || config.PORT !== 0, {
  path: ['WORKERS'],
  message: 'needs a fixed PORT (with PORT=0 every worker would pick a port of its own)',
});

export type Config = z.infer<typeof configSchema>;

export type ConfigError = { readonly variable: string; readonly message: string };

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
