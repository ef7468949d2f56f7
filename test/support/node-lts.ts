import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { fromRoot } from '../../src/root.js';

const run = promisify(execFile);
const packed = z.array(z.object({ filename: z.string(), version: z.string() })).min(1);

/**
 * A Node.js binary of another major version, from the npm registry (the
 * `node-<os>-<arch>` package that the `node` package installs; it ships the
 * official binary and has no install step), unpacked once into .cache/.
 */
export async function nodeBinary(major: number): Promise<string> {
  const dir = fromRoot('.cache', `node-${major}`);
  const bin = join(dir, 'bin', 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(fromRoot('.cache'), { recursive: true });
  const scratch = mkdtempSync(fromRoot('.cache', `node-${major}-`));
  try {
    const { stdout } = await run('npm', ['pack', `node-${process.platform}-${process.arch}@${major}`, '--json', '--pack-destination', scratch], { cwd: scratch });
    const [tarball] = packed.parse(JSON.parse(stdout));
    await run('tar', ['-xzf', join(scratch, tarball?.filename ?? ''), '-C', scratch]);
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(scratch, 'package'), dir);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return bin;
}
