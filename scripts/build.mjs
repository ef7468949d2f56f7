// npm run build: TypeScript -> dist/ (source maps on). `--all` adds test/ and bench/;
// `--if-stale` (what npm start, test and the other commands run first) builds only
// when a source is newer than the last build. Plain JavaScript: it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const all = process.argv.includes('--all');
const ifStale = process.argv.includes('--if-stale');
const dirs = all ? ['src', 'supervision', 'test', 'bench'] : ['src', 'supervision'];
const config = all ? 'tsconfig.json' : 'tsconfig.build.json';
const stamp = (name) => join(root, 'dist', `.built-${name}`);
const say = (line) => process.stderr.write(`build: ${line}\n`);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const mtime = (path) => (existsSync(path) ? statSync(path).mtimeMs : 0);

function fresh() {
  const sources = Math.max(...dirs.map((dir) => newestSource(join(root, dir))), mtime(join(root, 'tsconfig.json')), mtime(join(root, config)));
  // A build of everything also covers the server's part.
  const built = all ? mtime(stamp('all')) : Math.max(mtime(stamp('server')), mtime(stamp('all')));
  return built > sources && existsSync(join(root, 'dist', 'src', 'main.js'));
}

if (ifStale && fresh()) process.exit(0);

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (existsSync(join(root, 'dist', 'src', 'main.js'))) {
    say('TypeScript is not installed (a production install?): running dist/ as it was built');
    process.exit(0);
  }
  say('dist/ is missing and TypeScript is not installed: run `npm install` (with dev dependencies), then `npm run build`');
  process.exit(1);
}

say(`compiling ${dirs.join(', ')} to dist/`);
const run = spawnSync(process.execPath, [tsc, '-p', join(root, config)], { stdio: 'inherit', cwd: root });
if (run.status !== 0) process.exit(run.status ?? 1);
writeFileSync(stamp(all ? 'all' : 'server'), `${new Date().toISOString()}\n`);
