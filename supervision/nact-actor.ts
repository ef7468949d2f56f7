import { createRequire } from 'node:module';
import type nact from 'nact';

/**
 * One reach into nact's internals, kept here. nact's actor holds the Immediate
 * of the last message it handled, and Node leaves a run Immediate linked to the
 * ones queued after it: each idle actor kept ~5 Immediates reachable, 430 bytes
 * a session in a heap snapshot at 5,000. Dropped once a process goes idle.
 * nact is pinned (package.json); with another shape this does nothing.
 */
interface SystemMap {
  find(systemName: string, reference: unknown): unknown;
}

const systemMap = createRequire(import.meta.url)('nact/lib/system-map.js') as SystemMap;

export function forgetLastImmediate(reference: nact.Ref<unknown>): void {
  // nact's typings leave a reference opaque; at run time it names its system.
  const systemName = (reference as { system?: { name?: unknown } }).system?.name;
  if (typeof systemName !== 'string') return;
  const actor = systemMap.find(systemName, reference);
  if (typeof actor === 'object' && actor !== null && 'immediate' in actor) actor.immediate = undefined;
}
