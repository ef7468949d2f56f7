import assert from 'node:assert/strict';
import { SHUTDOWN, startSupervisor, stop, type SupervisorPid } from '../../supervision/index.js';
import { repoSpec, type RepoArgs } from '../../src/repo/repo.js';
import { root } from './probe.js';

/** A Repo under a supervisor of its own, on `url`, the way the application runs it. */
export async function startRepo(
  url: string,
  options: { poolSize?: number; timeoutMs?: number; onCommitted?: RepoArgs['onCommitted']; notifyInCommit?: RepoArgs['notifyInCommit'] } = {},
): Promise<{
  sup: SupervisorPid;
  stop(): Promise<void>;
}> {
  const sup = await startSupervisor(
    [
      repoSpec({
        url,
        poolSize: options.poolSize ?? 5,
        timeoutMs: options.timeoutMs ?? 2_000,
        ...(options.onCommitted === undefined ? {} : { onCommitted: options.onCommitted }),
        ...(options.notifyInCommit === undefined ? {} : { notifyInCommit: options.notifyInCommit }),
      }),
    ],
    { parent: root(), id: 'app', maxRestarts: 100, periodMs: 1_000 },
  );
  assert.ok(sup.ok, 'repo supervisor started');
  return { sup: sup.value, stop: async () => void (await stop(sup.value, SHUTDOWN, 5_000)) };
}
