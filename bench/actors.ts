/**
 * npm run bench:actors — call and cast throughput through the GenServer helper,
 * next to bare nact (query / dispatch) measured in the same run, and the ratio.
 * Goal (issue 01): the helper keeps >= 80% of bare nact's throughput.
 */
import nact from 'nact';
import { pino } from 'pino';
import { call, cast, rootParent, startServer, type GenServer } from '../supervision/index.js';

const CALLS = 50_000;
const CASTS = 200_000;
const ROUNDS = 5;

type BareMsg = { readonly type: 'inc' } | { readonly type: 'get'; readonly sender: nact.Ref<number> };
type CounterProtocol = { call: { readonly type: 'get' }; cast: { readonly type: 'inc' }; info: never };

const system = nact.start();
const bare = nact.spawn(
  system,
  (count: number, msg: BareMsg) => {
    if (msg.type === 'get') {
      nact.dispatch(msg.sender, count);
      return count;
    }
    return count + 1;
  },
  'bare',
  { initialState: 0 },
);

const counter: GenServer<null, number, CounterProtocol> = {
  init: () => 0,
  handleCall: (_msg, _from, state) => ({ state, reply: state }),
  handleCast: (_msg, state) => state + 1,
};
const started = await startServer(counter, null, { parent: rootParent(pino({ level: 'silent' })), id: 'counter' });
if (!started.ok) throw new Error('counter did not start');
const helper = started.value;

async function timed(run: () => Promise<void>, count: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  await run();
  return count / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const bareCalls = () =>
  timed(async () => {
    for (let i = 0; i < CALLS; i += 1) await nact.query(bare, (sender: nact.Ref<number>) => ({ type: 'get', sender }), 5_000);
  }, CALLS);
const helperCalls = () =>
  timed(async () => {
    for (let i = 0; i < CALLS; i += 1) await call<number, CounterProtocol>(helper, { type: 'get' });
  }, CALLS);
const bareCasts = () =>
  timed(async () => {
    for (let i = 0; i < CASTS; i += 1) nact.dispatch(bare, { type: 'inc' });
    await nact.query(bare, (sender: nact.Ref<number>) => ({ type: 'get', sender }), 60_000);
  }, CASTS);
const helperCasts = () =>
  timed(async () => {
    for (let i = 0; i < CASTS; i += 1) cast(helper, { type: 'inc' });
    await call<number, CounterProtocol>(helper, { type: 'get' }, 60_000);
  }, CASTS);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

// Interleaved rounds, so a noisy moment hurts both sides alike; the median of each is reported.
const results = { bareCalls: [] as number[], helperCalls: [] as number[], bareCasts: [] as number[], helperCasts: [] as number[] };
await bareCalls();
await helperCalls();
for (let round = 0; round < ROUNDS; round += 1) {
  results.bareCalls.push(await bareCalls());
  results.helperCalls.push(await helperCalls());
  results.bareCasts.push(await bareCasts());
  results.helperCasts.push(await helperCasts());
}

const rows = [
  ['call round trips/s', median(results.bareCalls), median(results.helperCalls)],
  ['casts handled/s', median(results.bareCasts), median(results.helperCasts)],
] as const;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
process.stdout.write(`\nbench:actors  (${ROUNDS} interleaved rounds, median; node ${process.version})\n`);
process.stdout.write(`${'scenario'.padEnd(22)}${'bare nact'.padStart(12)}${'GenServer'.padStart(12)}   ratio  goal\n`);
let failed = false;
for (const [label, baseline, ours] of rows) {
  const ratio = ours / baseline;
  failed ||= ratio < 0.8;
  process.stdout.write(`${label.padEnd(22)}${fmt(baseline)}${fmt(ours)}   ${(ratio * 100).toFixed(0).padStart(4)}%  ${ratio >= 0.8 ? '>= 80% ok' : '< 80% MISSED'}\n`);
}
nact.stop(system);
process.exit(failed ? 1 : 0);
