import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { createInterface } from 'node:readline';

/** A real server process (the compiled `dist/src/main.js`, as `npm start` runs it), its port read from its 'listening' log line. */
export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: string[];
  readonly url: string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Environment overrides; `undefined` removes a variable (e.g. DATABASE_URL, to get the embedded database). */
export type Env = Record<string, string | undefined>;

export interface RunOptions {
  /** A compiled entry point, from the repository root. */
  readonly script?: string;
  /** The node binary (another Node version, say); this one by default. */
  readonly node?: string;
}

export function runServer(
  env: Env,
  { script = 'dist/src/main.js', node = process.execPath }: RunOptions = {},
): { child: ChildProcess; lines: string[]; exited: Promise<number | null>; output: EventEmitter<{ line: [string] }> } {
  const merged: Env = { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_PRETTY: '0', ...env };
  const child = spawn(node, ['--enable-source-maps', script], {
    env: Object.fromEntries(Object.entries(merged).filter((entry): entry is [string, string] => entry[1] !== undefined)),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  /** Emits 'line' for each line of output, as it is added to `lines`. */
  const output = new EventEmitter<{ line: [string] }>();
  for (const stream of [child.stdout, child.stderr]) {
    if (stream !== null) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        output.emit('line', line);
      });
    }
  }
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, lines, exited, output };
}

export async function startServerProcess(env: Env = {}, timeoutMs = 60_000, options: RunOptions = {}): Promise<ServerProcess> {
  const { child, lines, exited, output } = runServer(env, options);
  // The 'listening' line, as it comes; 'close' (its output read to the end) if it exits first.
  const port = await new Promise<number>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      output.off('line', onLine);
      child.off('close', onClose);
    };
    const onLine = (line: string): void => {
      if (!line.includes('"listening"')) return;
      done();
      resolve((JSON.parse(line) as { port: number }).port);
    };
    const onClose = (): void => {
      done();
      reject(new Error(`server exited early:\n${lines.join('\n')}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`server did not listen in time:\n${lines.join('\n')}`));
    }, timeoutMs); // a deadline
    output.on('line', onLine);
    child.on('close', onClose);
  });
  return {
    child,
    port,
    lines,
    url: `http://127.0.0.1:${port}`,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
