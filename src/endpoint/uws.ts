import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import type * as Uws from '@btc-vision/uwebsockets.js';
import { z } from 'zod';
import { err, ok, type Result } from '../../supervision/result.js';

/**
 * uWebSockets.js is not on npm from its author; two repackagings are, and
 * between them they cover every current Node LTS. We load a build's native
 * binary ourselves, newest build first, so that the pure-JS fallback one of them
 * ships (slow, an old `ws`, no backpressure or idle limits) can never be what
 * runs: when no binary loads, the server refuses to start.
 */

type UwsModule = typeof Uws;

interface Build {
  readonly package: string;
  /** The folder of its binaries, from the package's main file. */
  readonly binaries: string;
}

/** Newest first. v20.57: Node 20/22/24/25, glibc >= 2.38. v20.30: Node 16-20, any glibc. */
export const BUILDS: readonly Build[] = [
  { package: '@btc-vision/uwebsockets.js', binaries: '.' },
  { package: '@trufflesuite/uws-js-unofficial', binaries: '../binaries' },
];

interface Platform {
  readonly node: string;
  /** process.versions.modules: the ABI a binary must be built for. */
  readonly abi: string;
  readonly os: string;
  readonly arch: string;
  /** undefined off glibc (macOS, Windows, musl). */
  readonly glibc: string | undefined;
}

interface UwsBuild {
  readonly package: string;
  readonly version: string;
  readonly binary: string;
}

interface BuildFailure {
  readonly package: string;
  readonly reason: 'not_installed' | 'no_binary' | 'load_failed';
  readonly detail: string;
}

interface NoNativeBuild {
  readonly reason: 'no_native_build';
  readonly platform: Platform;
  readonly tried: readonly BuildFailure[];
  readonly message: string;
}

const reportHeader = z.object({ header: z.object({ glibcVersionRuntime: z.string().optional() }) });

export function currentPlatform(): Platform {
  const report = reportHeader.safeParse(process.report.getReport());
  return {
    node: process.version,
    abi: process.versions.modules,
    os: process.platform,
    arch: process.arch,
    glibc: report.success ? report.data.header.glibcVersionRuntime : undefined,
  };
}

const packageJson = z.object({ name: z.string(), version: z.string() });
const require = createRequire(import.meta.url);

function packageVersion(main: string, name: string): string {
  for (let dir = dirname(main); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const parsed = packageJson.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (parsed.success && parsed.data.name === name) return parsed.data.version;
  }
  return 'unknown';
}

function abisOf(dir: string, platform: Platform): string[] {
  const pattern = new RegExp(`^uws_${platform.os}_${platform.arch}_(\\d+)\\.node$`);
  const files = existsSync(dir) ? readdirSync(dir) : [];
  return files.flatMap((file) => pattern.exec(file)?.[1] ?? []).sort((a, b) => Number(a) - Number(b));
}

interface LoadedUws {
  readonly module: UwsModule;
  readonly build: UwsBuild;
  /** Newer builds that did not load here, and why. */
  readonly skipped: readonly BuildFailure[];
}

function tryBuild(build: Build, platform: Platform): Result<Omit<LoadedUws, 'skipped'>, BuildFailure> {
  let main: string;
  try {
    main = require.resolve(build.package);
  } catch {
    return err({ package: build.package, reason: 'not_installed', detail: 'not installed' });
  }
  const version = packageVersion(main, build.package);
  const name = `${build.package} ${version}`;
  const dir = resolve(dirname(main), build.binaries);
  const binary = `uws_${platform.os}_${platform.arch}_${platform.abi}.node`;
  if (!existsSync(join(dir, binary))) {
    const abis = abisOf(dir, platform);
    const has = abis.length === 0 ? `none for ${platform.os}-${platform.arch}` : `ABI ${abis.join(', ')}`;
    return err({ package: build.package, reason: 'no_binary', detail: `${name} has no binary for ABI ${platform.abi} (it has ${has})` });
  }
  try {
    const module = require(join(dir, binary)) as UwsModule;
    return ok({ module, build: { package: build.package, version, binary } });
  } catch (error) {
    const first = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
    return err({ package: build.package, reason: 'load_failed', detail: `${name}: ${binary} does not load: ${first}` });
  }
}

function refusal(platform: Platform, tried: readonly BuildFailure[]): string {
  const where = `Node ${platform.node} (ABI ${platform.abi}) on ${platform.os}-${platform.arch}, ${platform.glibc === undefined ? 'no glibc' : `glibc ${platform.glibc}`}`;
  const [major = 0, minor = 0] = (platform.glibc ?? '').split('.').map(Number);
  const oldGlibc = platform.glibc !== undefined && (major < 2 || (major === 2 && minor < 38));
  const advice = oldGlibc
    ? 'On glibc older than 2.38 only Node 16 to 20 have a native build: run Node 20 here, or Node 22/24 on a system with glibc 2.38 or newer (Debian 13, Ubuntu 24.04, RHEL 10).'
    : 'Native builds exist for Node 20, 22, 24 and 25 on glibc Linux (x64, arm64), macOS and Windows x64: run one of those, and `npm install` with optional dependencies.';
  return `uWebSockets.js has no native build that loads on ${where}. Tried: ${tried.map((t) => t.detail).join('; ')}. ${advice} The pure-JS fallback is never used.`;
}

/** The first build whose native binary loads here, or why none does. */
export function loadUws(builds: readonly Build[] = BUILDS, platform: Platform = currentPlatform()): Result<LoadedUws, NoNativeBuild> {
  const tried: BuildFailure[] = [];
  for (const build of builds) {
    const loaded = tryBuild(build, platform);
    if (loaded.ok) return ok({ ...loaded.value, skipped: tried });
    tried.push(loaded.error);
  }
  return err({ reason: 'no_native_build', platform, tried, message: refusal(platform, tried) });
}

let loaded: ReturnType<typeof loadUws> | undefined;

/** This process's uWS, loaded once; main refuses to start when it is an error. */
export function nativeUws(): ReturnType<typeof loadUws> {
  loaded ??= loadUws();
  return loaded;
}

export function uws(): UwsModule {
  const result = nativeUws();
  if (!result.ok) throw new Error(result.error.message);
  return result.value.module;
}

/** Which build runs, for /health and the start log. */
export function uwsBuild(): UwsBuild | undefined {
  const result = nativeUws();
  return result.ok ? result.value.build : undefined;
}
