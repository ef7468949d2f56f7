/**
 * Micro-benchmark: broadcast encoding of a ~100-byte chat message, against the obvious
 * `JSON.stringify([null, null, topic, event, payload])`. Not a test; run with
 *   npx tsx bench/encode.ts
 * Both variants run interleaved in several rounds in the same process so JIT state and CPU
 * frequency affect them alike; the median round is reported.
 */
import { broadcast } from '../src/channel/encode.js';

const topic = 'room:lobby';
const event = 'new_msg';
// Fresh-looking but fixed payloads: a handful of distinct objects so neither variant can benefit
// from one object shape being the only one ever seen... while all share the shape a real room has.
const payloads = Array.from({ length: 16 }, (_, i) => ({
  id: 1_000_000 + i,
  user: `alice${i}`,
  body: `hello everyone, message number ${i} here`,
  inserted_at: `2024-05-01T12:00:${String(i).padStart(2, '0')}Z`,
}));

const baseline = (p: (typeof payloads)[number]): string => JSON.stringify([null, null, topic, event, p]);
const ours = (p: (typeof payloads)[number]): string => broadcast(topic, event, p);
// The floor: no framing at all. Shows how much of either figure is the payload itself.
const payloadOnly = (p: (typeof payloads)[number]): string => JSON.stringify(p);

const sample = ours(payloads[0]!);
if (sample !== baseline(payloads[0]!)) throw new Error(`encoders disagree:\n${sample}\n${baseline(payloads[0]!)}`);

const ITERATIONS = 200_000;
const ROUNDS = 15;

function time(encode: (p: (typeof payloads)[number]) => string): number {
  let sink = 0; // consumed below, so the calls cannot be optimized away
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    const frame = encode(payloads[i & 15]!);
    // Reading a middle character flattens a concatenated (cons) string, as sending it would;
    // without this a concatenating encoder would look cheaper than it is.
    sink += frame.charCodeAt(frame.length >> 1);
  }
  const elapsed = Number(process.hrtime.bigint() - start);
  if (sink === 0) throw new Error('unreachable');
  return elapsed / ITERATIONS;
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

// Warm-up so all are optimized before measuring.
for (let i = 0; i < 3; i++) {
  time(baseline);
  time(ours);
  time(payloadOnly);
}

const oursNs: number[] = [];
const baseNs: number[] = [];
const floorNs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate the order so neither always runs second (GC debt from the other).
  if (round % 2 === 0) {
    oursNs.push(time(ours));
    baseNs.push(time(baseline));
  } else {
    baseNs.push(time(baseline));
    oursNs.push(time(ours));
  }
  floorNs.push(time(payloadOnly));
}

const o = median(oursNs);
const b = median(baseNs);
const f = median(floorNs);
console.log(`frame: ${sample.length} bytes (payload ${JSON.stringify(payloads[0]).length} bytes), ${ROUNDS} rounds x ${ITERATIONS} ops, median`);
console.log(`broadcast()                      ${o.toFixed(1)} ns/op`);
console.log(`JSON.stringify([null,null,...])  ${b.toFixed(1)} ns/op`);
console.log(`JSON.stringify(payload) (floor)  ${f.toFixed(1)} ns/op`);
console.log(`ratio broadcast / baseline       ${(o / b).toFixed(2)}`);
