import type { ExitReason } from './exit-reason.js';
import {
  isPromise,
  reply,
  spawnProcess,
  type Ctx,
  type Down,
  type From,
  type Pid,
  type Protocol,
  type SpawnOptions,
  type StartError,
} from './process.js';
import type { Result } from './result.js';

/** A call handler either replies now or keeps `from` and calls reply() later (on I/O completion). */
export type CallReturn<S> = { readonly state: S; readonly reply: unknown } | { readonly state: S; readonly noreply: true };

type Async<T> = T | Promise<T>;

/**
 * The GenServer behaviour. A callback that throws (or rejects) crashes this
 * process only: terminate runs, pending callers get an error, monitors get DOWN,
 * and its supervisor decides what happens next.
 */
export interface GenServer<A, S, P extends Protocol> {
  init(args: A, ctx: Ctx<P>): Async<S>;
  handleCall?(message: P['call'], from: From, state: S, ctx: Ctx<P>): Async<CallReturn<S>>;
  handleCast?(message: P['cast'], state: S, ctx: Ctx<P>): Async<S>;
  handleInfo?(message: P['info'] | Down, state: S, ctx: Ctx<P>): Async<S>;
  terminate?(reason: ExitReason, state: S, ctx: Ctx<P>): Async<void>;
}

export function startServer<A, S, P extends Protocol>(
  server: GenServer<A, S, P>,
  args: A,
  options: SpawnOptions,
): Promise<Result<Pid<P>, StartError>> {
  return spawnProcess<P>(options, (ctx) => {
    let state: S;
    const commit = (next: S): void => {
      state = next;
    };
    const then = <T>(value: Async<T>, f: (v: T) => void): unknown =>
      isPromise(value) ? value.then(f) : f(value as T);
    const commitCall = (from: From) => (result: CallReturn<S>): void => {
      state = result.state;
      if ('reply' in result) reply(from, result.reply);
    };
    return {
      init: () => then(server.init(args, ctx), commit),
      call: (message, from) => {
        if (server.handleCall === undefined) throw new Error(`${ctx.self.path} handles no calls`);
        return then(server.handleCall(message as P['call'], from, state, ctx), commitCall(from));
      },
      cast: (message) => {
        if (server.handleCast === undefined) throw new Error(`${ctx.self.path} handles no casts`);
        return then(server.handleCast(message as P['cast'], state, ctx), commit);
      },
      info: (message) => {
        if (server.handleInfo === undefined) {
          ctx.log.debug({ message }, 'unexpected message dropped');
          return undefined;
        }
        return then(server.handleInfo(message as P['info'] | Down, state, ctx), commit);
      },
      terminate: (reason) => server.terminate?.(reason, state, ctx),
    };
  });
}
