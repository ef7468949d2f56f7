import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's root, where package.json is: the code runs compiled from dist/,
 * while sql/ and src/web/ are read where they are in the repository.
 */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

export const fromRoot = (...parts: string[]): string => join(ROOT, ...parts);

/** A file of the browser client (src/web/), served as it is. */
export const webFile = (name: string): string => fromRoot('src', 'web', name);
