import { WebSocket } from 'ws';
import { z } from 'zod';

/**
 * A hostile client in its own process (`node flooder.js <ws url> <ms>`): sends
 * 60 KB push frames as fast as its socket takes them, for up to <ms>, and
 * prints one JSON line: how long until the server closed it, with what code,
 * and how many frames it sent. Its own process, so the test can run it at the
 * lowest CPU priority: a real attacker spends its own machine's CPU, not the
 * server's.
 */

const [url, limitMs] = z.tuple([z.string().url(), z.coerce.number().int().positive()]).parse(process.argv.slice(2));
const frame = JSON.stringify(['1', '2', 'room:flood', 'new_msg', { body: 'x'.repeat(60_000) }]);
const ws = new WebSocket(url);
let sent = 0;
let opened = 0;

ws.on('error', () => {});
ws.once('unexpected-response', (_request, response) => {
  process.stdout.write(`${JSON.stringify({ refused: response.statusCode })}\n`);
  process.exit(1);
});
ws.once('open', () => {
  opened = Date.now();
  const pump = (): void => {
    if (ws.readyState !== WebSocket.OPEN || Date.now() - opened > limitMs) {
      ws.terminate();
      return;
    }
    while (ws.bufferedAmount < 4_000_000) {
      ws.send(frame);
      sent += 1;
    }
    // Again once this frame has reached the kernel: never a spin on a full socket.
    ws.send(frame, () => pump());
    sent += 1;
  };
  pump();
});
ws.once('close', (code) => {
  const elapsed = Date.now() - opened;
  const closedAfterMs = code === 1006 && elapsed >= limitMs ? null : elapsed;
  process.stdout.write(`${JSON.stringify({ closedAfterMs, code, sent })}\n`);
  process.exit(0);
});
