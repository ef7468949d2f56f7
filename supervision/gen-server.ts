import type { ExitReason } from './exit-reason.js';
import {
  isPromise,
  type Behaviour,
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

/** Binds a GenServer's callbacks to one process's state. A class for the reason Proc is one. */
class ServerBehaviour<A, S, P extends Protocol> implements Behaviour {
  private state!: S;

  constructor(
    private readonly server: GenServer<A, S, P>,
    private readonly args: A,
    private readonly ctx: Ctx<P>,
  ) {}

  private commit(next: Async<S>): unknown {
    if (isPromise(next)) return next.then((value) => this.commit(value));
    this.state = next as S;
    return undefined;
  }

  private commitCall(result: Async<CallReturn<S>>, from: From): unknown {
    if (isPromise(result)) return result.then((value) => this.commitCall(value, from));
    const done = result as CallReturn<S>;
    this.state = done.state;
    if ('reply' in done) reply(from, done.reply);
    return undefined;
  }

  init(): unknown {
    return this.commit(this.server.init(this.args, this.ctx));
  }

  call(message: unknown, from: From): unknown {
    if (this.server.handleCall === undefined) throw new Error(`${this.ctx.self.path} handles no calls`);
    return this.commitCall(this.server.handleCall(message as P['call'], from, this.state, this.ctx), from);
  }

  cast(message: unknown): unknown {
    if (this.server.handleCast === undefined) throw new Error(`${this.ctx.self.path} handles no casts`);
    return this.commit(this.server.handleCast(message as P['cast'], this.state, this.ctx));
  }

  info(message: unknown): unknown {
    if (this.server.handleInfo === undefined) {
      this.ctx.log.debug({ message }, 'unexpected message dropped');
      return undefined;
    }
    return this.commit(this.server.handleInfo(message as P['info'] | Down, this.state, this.ctx));
  }

  terminate(reason: ExitReason): unknown {
    return this.server.terminate?.(reason, this.state, this.ctx);
  }
}

export function startServer<A, S, P extends Protocol>(
  server: GenServer<A, S, P>,
  args: A,
  options: SpawnOptions,
): Promise<Result<Pid<P>, StartError>> {
  return spawnProcess<P>(options, (ctx) => new ServerBehaviour(server, args, ctx));
}
