/**
 * npm run bench:pubsub — one broadcast delivered to 10,000 subscriber actors
 * through PubSub (handleInfo in each), next to a bare loop of nact dispatches to
 * 10,000 bare nact actors, same run, and the ratio. Goal (issue 03): >= 70%.
 */
import nact from 'nact';
import { pino } from 'pino';
import { rootParent, startServer, startSupervisor, type GenServer } from '../supervision/index.js';
import * as PubSub from '../src/pubsub/pubsub.js';

const SUBSCRIBERS = 10_000;
const ROUNDS = 15;
const TOPIC = 'room:bench';

let handled = 0;
let target = 0;
let done: () => void = () => {};
const count = () => {
  handled += 1;
  if (handled === target) done();
};
const allHandled = (n: number) =>
  new Promise<void>((resolve) => {
    handled = 0;
    target = n;
    done = resolve;
  });

const log = pino({ level: 'warn' });
const sup = await startSupervisor([PubSub.pubsubSpec()], { parent: rootParent(log), id: 'bench' });
if (!sup.ok) throw new Error('pubsub did not start');

type SubscriberProtocol = { call: never; cast: never; info: PubSub.Broadcast };
const subscriber: GenServer<null, null, SubscriberProtocol> = {
  async init(_args, ctx) {
    await PubSub.subscribe(TOPIC, ctx.self);
    return null;
  },
  handleInfo: (_message, state) => {
    count();
    return state;
  },
};
for (let i = 0; i < SUBSCRIBERS; i += 1) {
  const started = await startServer(subscriber, null, { parent: rootParent(log, '/bench'), id: `s${i}` });
  if (!started.ok) throw new Error('subscriber did not start');
}

const system = nact.start();
const bare = Array.from({ length: SUBSCRIBERS }, (_, i) =>
  nact.spawnStateless(system, () => count(), `bare${i}`),
);

async function time(run: () => void): Promise<number> {
  const finished = allHandled(SUBSCRIBERS);
  const t0 = process.hrtime.bigint();
  run();
  await finished;
  return SUBSCRIBERS / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const message = { body: 'x'.repeat(100) };
const bareLoop = () => time(() => {
  for (const actor of bare) nact.dispatch(actor, message);
});
const broadcast = () => time(() => PubSub.broadcast(TOPIC, 'new_msg', message));

await bareLoop();
await broadcast();
const results = { bare: [] as number[], pubsub: [] as number[] };
// Alternating which goes first, so garbage one leaves behind is not always paid by the other.
for (let round = 0; round < ROUNDS; round += 1) {
  if (round % 2 === 0) {
    results.bare.push(await bareLoop());
    results.pubsub.push(await broadcast());
  } else {
    results.pubsub.push(await broadcast());
    results.bare.push(await bareLoop());
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const bareRate = median(results.bare);
const ours = median(results.pubsub);
const ratio = ours / bareRate;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
process.stdout.write(`\nbench:pubsub  (${SUBSCRIBERS.toLocaleString('en-US')} subscriber actors, ${ROUNDS} alternating rounds, median; node ${process.version})\n`);
process.stdout.write(`bare nact dispatch loop     ${fmt(bareRate)} deliveries/s\n`);
process.stdout.write(`PubSub.broadcast            ${fmt(ours)} deliveries/s\n`);
process.stdout.write(`ratio                       ${(ratio * 100).toFixed(0).padStart(11)}%  goal >= 70%: ${ratio >= 0.7 ? 'ok' : 'MISSED'}\n`);
process.exit(ratio >= 0.7 ? 0 : 1);
