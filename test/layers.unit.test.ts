/**
 * The layers of the program, as README's architecture section draws them:
 * a module imports only from its own layer or those below it, and no two
 * files import each other, however indirectly. Read from the sources, so a
 * new import that goes up a layer, or closes a cycle, fails here.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/ when compiled: the sources are two levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Lowest first. A file's layer is its folder's; the entry points of src/ sit on top. */
const LAYERS: ReadonlyArray<readonly string[]> = [
  ['supervision', 'src/config.ts', 'src/root.ts', 'src/log.ts'],
  ['src/metrics'],
  ['src/repo'],
  ['src/pubsub'],
  ['src/presence'],
  ['src/chat'],
  // The wire format: what is below moves topics and payloads, and never encodes a frame.
  ['src/channel'],
  ['src/transport'],
  ['src/session'],
  ['src/endpoint'],
  ['src/application.ts', 'src/workers.ts', 'src/process-guard.ts', 'src/main.ts', 'src/cli'],
];

function layerOf(file: string): number {
  const index = LAYERS.findIndex((layer) => layer.some((place) => file === place || file.startsWith(`${place}/`)));
  assert.notEqual(index, -1, `${file} has no layer: add its folder to LAYERS (and to README's picture)`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The program's own files a source imports (type-only imports count: they are dependencies all the same). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'(\.[^']+)'/gms)].map((match) => match[1] ?? '');
  return specifiers.map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts'));
}

const files = [...sources('supervision'), ...sources('src')];
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('layers', () => {
  it('every import stays in its layer or goes down', () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => layerOf(target) > layerOf(file)).map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(upward, []);
  });

  it('no import cycle between files', () => {
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (file: string, path: readonly string[]): void => {
      const at = path.indexOf(file);
      if (at !== -1) {
        cycles.push([...path.slice(at), file].join(' -> '));
        return;
      }
      if (done.has(file)) return;
      for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
      done.add(file);
    };
    for (const file of files) visit(file, []);
    assert.deepEqual(cycles, []);
  });

  it('sees the imports it checks', () => {
    // Guards the parser above: a regex that matched nothing would pass both tests.
    assert.ok(graph.get('src/session/room.ts')?.includes('src/chat/messages.ts'));
    assert.ok(graph.get('src/application.ts')?.includes('src/repo/repo.ts'));
    assert.ok(files.length > 80, `${files.length} files read`);
  });
});
