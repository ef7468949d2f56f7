/**
 * The raw baseline for `npm run bench`: uWebSockets.js topic pub/sub and
 * nothing else (no actors, no database, no validation). It speaks just enough
 * Phoenix V2 for the load tester's client: a join is answered ok and subscribes
 * the socket; a new_msg gets an id, is published to the topic as a broadcast
 * frame (app.publish, C++ fan-out), and answered ok. Run as its own process so
 * its CPU time and memory can be read from /proc.
 */
import { nativeUws } from '../../src/endpoint/uws.js';

// The same build the chat server loads, so the two are compared on one uWS.
const native = nativeUws();
if (!native.ok) {
  process.stderr.write(`${native.error.message}\n`);
  process.exit(1);
}
const { module: uws, build } = native.value;
let nextId = 0;
const app = uws.App();

app.get('/health', (res) => void res.writeHeader('content-type', 'application/json').end(JSON.stringify({ status: 'ok', uws: build })));

app.ws('/socket/websocket', {
  idleTimeout: 0,
  maxBackpressure: 64 * 1024 * 1024,
  message: (ws, data) => {
    const [joinRef, ref, topic, event, payload] = JSON.parse(Buffer.from(data).toString()) as [string | null, string, string, string, Record<string, unknown>];
    const reply = (response: unknown): void => void ws.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response }]));
    if (event === 'phx_join') {
      reply({ messages: [], user: { id: 0, name: String(payload['username']) } });
      ws.subscribe(topic);
    } else if (event === 'new_msg') {
      const id = ++nextId;
      const message = { id, user: 'raw', body: String(payload['body']), inserted_at: new Date().toISOString() };
      app.publish(topic, JSON.stringify([null, null, topic, 'new_msg', message]));
      reply({ id });
    } else {
      reply({});
    }
  },
});

app.listen('127.0.0.1', 0, (listenSocket) => {
  if (listenSocket === false) process.exit(1);
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: uws.us_socket_local_port(listenSocket), uws: build })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
