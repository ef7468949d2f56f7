/**
 * The raw baseline for `npm run bench`: uWebSockets.js topic pub/sub and
 * nothing else (no actors, no database, no validation). It speaks just enough
 * Phoenix V2 for the load tester's client: a join is answered ok and subscribes
 * the socket; a new_msg gets an id, is published to the topic as a broadcast
 * frame (app.publish, C++ fan-out), and answered ok; POST /admin/announce
 * publishes an announcement to every topic. Run as its own process so its CPU
 * time and memory can be read from /proc. Started by raw-cluster.ts (an IPC
 * channel), it listens on RAW_PORT beside its siblings and hands every frame
 * it publishes to its parent, which passes it to the others: the least a
 * baseline of several processes must do.
 */
import { z } from 'zod';
import { nativeUws } from '../../src/endpoint/uws.js';

// The same build the chat server loads, so the two are compared on one uWS.
const native = nativeUws();
if (!native.ok) {
  process.stderr.write(`${native.error.message}\n`);
  process.exit(1);
}
const { module: uws, build } = native.value;
const port = z.coerce.number().int().min(0).max(65535).default(0).parse(process.env['RAW_PORT']);
const relayed = z.discriminatedUnion('type', [
  z.object({ type: z.literal('frame'), topic: z.string(), frame: z.string() }),
  z.object({ type: z.literal('announce'), payload: z.string() }),
]);
type Relayed = z.infer<typeof relayed>;
// Ids rise per process: a room whose messages all come from one sender (the bench's scenarios) sees them rise.
let nextId = 0;
const topics = new Set<string>();
const app = uws.App();
const relay = (message: Relayed): void => void process.send?.(message);

const announceTo = (payload: string): void => {
  for (const topic of topics) app.publish(topic, `[null,null,${JSON.stringify(topic)},"announcement",${payload}]`);
};

app.get('/health', (res) => void res.writeHeader('content-type', 'application/json').end(JSON.stringify({ status: 'ok', uws: build })));
app.post('/admin/announce', (res, req) => {
  const body = new URLSearchParams(req.getQuery() ?? '').get('body') ?? '';
  const announced = { id: `raw-${process.pid}-${++nextId}`, body, at: Date.now() };
  const payload = JSON.stringify(announced);
  announceTo(payload);
  relay({ type: 'announce', payload });
  res.writeHeader('content-type', 'application/json').end(JSON.stringify({ announced }));
});

app.ws('/socket/websocket', {
  idleTimeout: 0,
  maxBackpressure: 64 * 1024 * 1024,
  message: (ws, data) => {
    const [joinRef, ref, topic, event, payload] = JSON.parse(Buffer.from(data).toString()) as [string | null, string, string, string, Record<string, unknown>];
    const reply = (response: unknown): void => void ws.send(JSON.stringify([joinRef, ref, topic, 'phx_reply', { status: 'ok', response }]));
    if (event === 'phx_join') {
      reply({ messages: [], user: { id: 0, name: String(payload['username']) } });
      ws.subscribe(topic);
      topics.add(topic);
    } else if (event === 'new_msg') {
      const id = ++nextId;
      const message = { id, user: 'raw', body: String(payload['body']), inserted_at: new Date().toISOString() };
      const frame = JSON.stringify([null, null, topic, 'new_msg', message]);
      app.publish(topic, frame);
      relay({ type: 'frame', topic, frame });
      reply({ id });
    } else {
      reply({});
    }
  },
});

process.on('message', (raw) => {
  const message = relayed.safeParse(raw);
  if (!message.success) return;
  if (message.data.type === 'frame') app.publish(message.data.topic, message.data.frame);
  else announceTo(message.data.payload);
});

app.listen('127.0.0.1', port, (listenSocket) => {
  if (listenSocket === false) process.exit(1);
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port: uws.us_socket_local_port(listenSocket), uws: build })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('disconnect', () => process.exit(0));
