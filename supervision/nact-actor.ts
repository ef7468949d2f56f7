import { createRequire } from 'node:module';
import type nact from 'nact';

/**
 * The reaches into nact's internals, kept here, each worth hundreds of bytes a
 * session (heap snapshots at 5,000 sessions). nact is pinned (package.json); on an
 * actor of another shape they do nothing.
 */
interface SystemMap {
  find(systemName: string, reference: unknown): unknown;
}

const systemMap = createRequire(import.meta.url)('nact/lib/system-map.js') as SystemMap;

function actorOf(reference: nact.Ref<unknown>): object | undefined {
  // nact's typings leave a reference opaque; at run time it names its system.
  const systemName = (reference as { system?: { name?: unknown } }).system?.name;
  if (typeof systemName !== 'string') return undefined;
  const actor = systemMap.find(systemName, reference);
  return typeof actor === 'object' && actor !== null ? actor : undefined;
}

/**
 * nact's actor holds the Immediate of the last message it handled, and Node leaves
 * a run Immediate linked to those queued after it: each idle actor kept ~5
 * Immediates reachable (430 bytes a session). Called once a process goes idle.
 */
export function forgetLastImmediate(reference: nact.Ref<unknown>): void {
  const actor = actorOf(reference);
  if (actor !== undefined && 'immediate' in actor) actor.immediate = undefined;
}

/** Our processes are spawned flat under the nact system (process.ts) and never have nact children. */
class NoChildren<V> extends Map<string, V> {
  override set(key: string): this {
    throw new Error(`a process's nact actor was given a child (${key}); processes are spawned under the nact system`);
  }
}
const NO_CHILDREN = new NoChildren<never>();

/** The two Maps nact makes for an actor's children, shared empty instead: ~370 bytes a session. */
export function shareEmptyChildren(reference: nact.Ref<unknown>): void {
  const actor = actorOf(reference);
  if (actor === undefined || !('children' in actor) || !('childReferences' in actor)) return;
  actor.children = NO_CHILDREN;
  actor.childReferences = NO_CHILDREN;
}
