import { pino } from 'pino';
import {
  demonitor,
  monitor,
  rootParent,
  startServer,
  type ChildSpec,
  type Down,
  type GenServer,
  type MonitorRef,
  type Parent,
  type Pid,
} from '../../supervision/index.js';

/** A small GenServer for supervision tests: it writes what happens to it into a shared event list. */
export type ProbeCall =
  | { readonly type: 'get' }
  | { readonly type: 'crash' }
  | { readonly type: 'stop_normal' }
  | { readonly type: 'sleep'; readonly ms: number }
  | { readonly type: 'monitor'; readonly pid: Pid }
  | { readonly type: 'demonitor'; readonly ref: MonitorRef }
  | { readonly type: 'downs' };
export type ProbeCast = { readonly type: 'inc' } | { readonly type: 'crash' };
export type ProbeProtocol = { readonly call: ProbeCall; readonly cast: ProbeCast; readonly info: never };
export type ProbePid = Pid<ProbeProtocol>;

export interface ProbeArgs {
  readonly id: string;
  readonly events: string[];
  readonly failInit?: boolean;
  /** How long terminate takes (to test shutdown timeouts). */
  readonly terminateMs?: number;
}

interface ProbeState {
  readonly args: ProbeArgs;
  value: number;
  readonly downs: Down[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const probe: GenServer<ProbeArgs, ProbeState, ProbeProtocol> = {
  async init(args) {
    if (args.failInit === true) throw new Error(`init of ${args.id} refused`);
    args.events.push(`start:${args.id}`);
    return { args, value: 0, downs: [] };
  },
  async handleCall(message, _from, state, ctx) {
    switch (message.type) {
      case 'get':
        return { state, reply: state.value };
      case 'crash':
        throw new Error('crash on request');
      case 'stop_normal':
        ctx.stop({ kind: 'normal' });
        return { state, reply: 'stopping' };
      case 'sleep':
        await sleep(message.ms);
        return { state, reply: 'slept' };
      case 'monitor':
        return { state, reply: monitor(ctx.proc, message.pid) };
      case 'demonitor':
        demonitor(ctx.proc, message.ref);
        return { state, reply: 'ok' };
      case 'downs':
        return { state, reply: state.downs };
    }
  },
  handleCast(message, state) {
    if (message.type === 'crash') throw new Error('cast crash');
    return { ...state, value: state.value + 1 };
  },
  handleInfo(message, state) {
    if (message.type === 'DOWN') state.downs.push(message);
    return state;
  },
  async terminate(reason, state) {
    if (state.args.terminateMs !== undefined) await sleep(state.args.terminateMs);
    state.args.events.push(`stop:${state.args.id}:${reason.kind}`);
  },
};

export const silentLog = pino({ level: 'silent' });
export const root = (): Parent => rootParent(silentLog, `/t${Math.random().toString(36).slice(2, 8)}`);

export async function startProbe(parent: Parent, args: ProbeArgs, register?: string): Promise<ProbePid> {
  const result = await startServer(probe, args, {
    parent,
    id: args.id,
    ...(register === undefined ? {} : { register }),
  });
  if (!result.ok) throw new Error(`probe ${args.id} did not start: ${result.error.reason}`);
  return result.value;
}

export function probeSpec(args: ProbeArgs, extra: Partial<ChildSpec> = {}): ChildSpec {
  return {
    id: args.id,
    ...extra,
    start: (parent) => startServer(probe, args, { parent, id: args.id }),
  };
}

/** Polls `check` until it holds: for a condition no event announces (prefer `Changes.until` where one does). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5); // the poll's interval
  }
}

/**
 * Conditions on something that changes by events (a client's messages arriving),
 * awaited on those events rather than polled: whoever changes it calls `changed()`.
 */
export class Changes {
  private readonly waiting = new Set<() => void>();

  changed(): void {
    for (const check of [...this.waiting]) check();
  }

  /** Resolves once `condition` holds, checked now and on every change; rejects after `timeoutMs` (a deadline). */
  until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiting.delete(check);
      };
      const check = (): void => {
        if (!condition()) return;
        done();
        resolve();
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${what}: not within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.add(check);
    });
  }
}

export { sleep };
