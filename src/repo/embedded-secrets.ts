import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The embedded cluster's passwords: the superuser's (admin work, the test
 * harness) and the application role's. Random at first start, kept in
 * `<dataDir>/pg.secrets.json` with mode 0600, never logged.
 */

/** base64url only, so a password can be quoted into ALTER ROLE without escaping. */
const password = z.string().regex(/^[A-Za-z0-9_-]{20,}$/);
const secretsSchema = z.object({ superuser: password, app: password });
export type Secrets = z.infer<typeof secretsSchema>;

/** The password data directories made before this file existed were given; rotated at their next start. */
export const LEGACY_PASSWORD = 'postgres';

export const secretsFile = (dataDir: string): string => join(dataDir, 'pg.secrets.json');

const fresh = (): string => randomBytes(24).toString('base64url');

function read(file: string): Secrets | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const parsed = secretsSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`${file} is not a valid secrets file: move it away to have new passwords made`);
  return parsed.data;
}

/** Reads the secrets, or makes them; two processes starting at once end up with the same ones (link fails on the loser). */
export function ensureSecrets(dataDir: string): Secrets {
  const file = secretsFile(dataDir);
  const existing = read(file);
  if (existing !== undefined) return existing;
  const scratch = `${file}.${process.pid}`;
  writeFileSync(scratch, JSON.stringify({ superuser: fresh(), app: fresh() }), { mode: 0o600 });
  try {
    linkSync(scratch, file);
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'EEXIST')) throw error;
  } finally {
    rmSync(scratch, { force: true });
  }
  const made = read(file);
  if (made === undefined) throw new Error(`${file} vanished while it was made`);
  return made;
}
