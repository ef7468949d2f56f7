/**
 * The raw baseline as RAW_WORKERS processes on one port (SO_REUSEPORT, as the
 * chat server's WORKERS): this parent starts them, passes each frame one
 * publishes to the others over IPC, and says 'listening' once all listen.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const count = z.coerce.number().int().min(1).max(64).parse(process.env['RAW_WORKERS']);
const port = z.coerce.number().int().min(1).max(65535).parse(process.env['RAW_PORT']);
const script = fileURLToPath(new URL('./raw-uws.js', import.meta.url));
const listening = z.object({ msg: z.literal('listening'), uws: z.unknown() });

const children: ChildProcess[] = [];
let ready = 0;
for (let i = 0; i < count; i++) {
  const child = fork(script, [], { env: { ...process.env, RAW_PORT: String(port) }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  children.push(child);
  child.stdout?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        continue;
      }
      const said = listening.safeParse(parsed);
      if (said.success && ++ready === count) process.stdout.write(`${JSON.stringify({ msg: 'listening', port, uws: said.data.uws, workers: count })}\n`);
    }
  });
  child.on('message', (message) => {
    for (const other of children) if (other !== child && other.connected) other.send(message as object);
  });
  child.on('exit', () => process.exit(1));
}
process.on('SIGTERM', () => {
  for (const child of children) child.removeAllListeners('exit').kill('SIGTERM');
  process.exit(0);
});
