import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Payload } from '../src/channel/frame.js';
import { DropLog } from '../src/pubsub/drop-log.js';
import {
  DEFAULT_LIMITS,
  encodeParts,
  MAX_NOTIFY_BYTES,
  PART_CHARS,
  partsFor,
  Reassembler,
  type FrameKind,
  type ReassemblyLimits,
} from '../src/pubsub/notify-frames.js';

const parts = (kind: FrameKind, node: string, seq: number, topic: string, event: string, payload: Payload): string[] => {
  const encoded = encodeParts(kind, node, seq, topic, event, payload);
  assert.ok(encoded.ok, 'encodes');
  return encoded.value;
};

const reasonOf = (value: unknown): string | undefined =>
  typeof value === 'object' && value !== null && 'reason' in value ? String((value as { reason: unknown }).reason) : undefined;

/** Small bounds, so that properties reach them in a few hundred notifications. */
const SMALL: ReassemblyLimits = { maxBroadcastBytes: 60_000, maxInFlight: 4, maxInFlightBytes: 40_000, timeoutMs: 1_000 };

describe('broadcasts as NOTIFY payloads', () => {
  it('a small broadcast is one part, read back as it was', () => {
    const [part, ...rest] = parts('b', 'a@host', 1, 'room:lobby', 'new_msg', { id: 7, body: 'hi | there' });
    assert.equal(rest.length, 0);
    assert.deepEqual(new Reassembler().add(part as string, 0), { via: 'b', node: 'a@host', topic: 'room:lobby', event: 'new_msg', payload: { id: 7, body: 'hi | there' } });
  });

  it('a large one (quotes, backslashes, non-ASCII) is cut under the NOTIFY limit and comes back whole, whatever else interleaves', () => {
    const payload = { body: 'é"\\ 😀 '.repeat(4_000), list: Array.from({ length: 500 }, (_, i) => ({ i })) };
    const big = parts('c', 'a', 2, 'room:x', 'presence_state', payload);
    assert.ok(big.length > 3, `${big.length} parts`);
    for (const part of big) assert.ok(Buffer.byteLength(part) <= MAX_NOTIFY_BYTES, `${Buffer.byteLength(part)} bytes`);
    const other = parts('b', 'b', 9, 'room:y', 'new_msg', { body: 'x'.repeat(20_000) });
    const reassembler = new Reassembler();
    const done = [];
    for (let i = 0; i < Math.max(big.length, other.length); i++) {
      for (const list of [big, other]) {
        const part = list[i];
        if (part === undefined) continue;
        const result = reassembler.add(part, i);
        if (result !== undefined) done.push(result);
      }
    }
    assert.deepEqual(done.map((d) => ('node' in d ? d.node : d.reason)).sort(), ['a', 'b']);
    assert.deepEqual(done.find((d) => 'node' in d && d.node === 'a'), { via: 'c', node: 'a', topic: 'room:x', event: 'presence_state', payload });
    assert.equal(reassembler.pending, 0);
    assert.equal(reassembler.heldChars, 0);
  });

  it('property: any broadcasts, from any senders, their parts interleaved in any way, each come back once and whole', () => {
    const broadcast = fc.record({
      node: fc.constantFrom('a', 'b', 'c'),
      payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
      // Some pad past one part, so that most runs cut something.
      pad: fc.constantFrom(0, 0, 9_000, 25_000),
    });
    fc.assert(
      fc.property(fc.array(broadcast, { minLength: 1, maxLength: 6 }), fc.array(fc.nat(5), { maxLength: 200 }), (made, schedule) => {
        const queues = made.map((b, i) => parts('b', b.node, i, 'room:p', 'e', { ...b.payload, pad: 'é'.repeat(b.pad / 2) }));
        const reassembler = new Reassembler();
        const done: unknown[] = [];
        const take = (q: number): void => {
          const part = queues[q]?.shift();
          if (part === undefined) return;
          const result = reassembler.add(part, 0);
          if (result !== undefined) done.push(result);
        };
        // The schedule picks which sender's next part comes; whatever is left then comes in turn.
        for (const pick of schedule) take(pick % queues.length);
        while (queues.some((q) => q.length > 0)) queues.forEach((_, q) => take(q));
        assert.equal(done.length, made.length);
        for (const result of done) assert.equal(reasonOf(result), undefined, JSON.stringify(result).slice(0, 200));
        const payloads = (done as Array<{ payload: Payload }>).map((d) => JSON.stringify(d.payload)).sort();
        const expected = made.map((b) => JSON.stringify({ ...b.payload, pad: 'é'.repeat(b.pad / 2) })).sort();
        assert.deepEqual(payloads, expected);
        assert.equal(reassembler.pending, 0);
      }),
      { numRuns: 60 },
    );
  });

  it('property: whatever arrives (garbage, forged headers, genuine parts), it never throws, stays within its bounds, and a genuine broadcast still gets through after the timeout', () => {
    const digits = fc.oneof(fc.nat(3).map(String), fc.nat(2_000_000).map(String), fc.constantFrom('', '-1', '1e3', '0x10', '99999999999999999999'));
    const forged = fc
      .tuple(fc.constantFrom('b', 'c', 'x', ''), fc.constantFrom('a', 'b', 'n'.repeat(81), ''), digits, digits, digits, fc.oneof(fc.string(), fc.base64String({ maxLength: PART_CHARS + 10 })))
      .map((fields) => fields.join('|'));
    const genuine = fc
      .tuple(fc.nat(3), fc.integer({ min: 1, max: 30_000 }))
      .chain(([seq, size]) => fc.constantFrom(...parts('b', 'g', seq, 'room:g', 'e', { body: 'y'.repeat(size) })));
    const notification = fc.oneof(fc.string({ maxLength: 9_000 }), forged, genuine);
    fc.assert(
      fc.property(fc.array(fc.tuple(notification, fc.nat(400)), { maxLength: 150 }), (arrivals) => {
        const reassembler = new Reassembler(SMALL);
        let now = 0;
        for (const [text, elapsed] of arrivals) {
          now += elapsed;
          reassembler.add(text, now);
          assert.ok(reassembler.pending <= SMALL.maxInFlight, `${reassembler.pending} in flight`);
          assert.ok(reassembler.heldChars <= SMALL.maxInFlightBytes, `${reassembler.heldChars} chars held`);
        }
        now += SMALL.timeoutMs;
        const fresh = parts('c', 'fresh', 1, 'room:f', 'e', { body: 'z'.repeat(20_000) });
        const results = fresh.map((part) => reassembler.add(part, now));
        assert.deepEqual(results.at(-1), { via: 'c', node: 'fresh', topic: 'room:f', event: 'e', payload: { body: 'z'.repeat(20_000) } });
      }),
      { numRuns: 200 },
    );
  });
});

describe('hostile notifications are dropped as error values, never allocated as given', () => {
  it('a huge part count is refused; the largest allowed one holds only what arrived', () => {
    const reassembler = new Reassembler();
    const max = partsFor(DEFAULT_LIMITS.maxBroadcastBytes);
    assert.deepEqual(reassembler.add('b|evil|1|0|999999|AAAA', 0), { reason: 'too_many_parts', count: 999_999, max });
    assert.equal(reassembler.pending, 0);
    assert.equal(reassembler.add(`b|evil|2|0|${max}|AAAA`, 0), undefined);
    assert.equal(reassembler.pending, 1);
    assert.equal(reassembler.heldChars, 4, 'four characters held, not an array of the claimed count');
  });

  it('parts that never complete are given up after the timeout, on a sweep or when a new one starts', () => {
    const reassembler = new Reassembler(SMALL);
    const [first] = parts('b', 'a', 5, 'room:z', 'new_msg', { body: 'y'.repeat(30_000) });
    assert.equal(reassembler.add(first as string, 0), undefined);
    assert.equal(reassembler.sweep(999), undefined);
    assert.deepEqual(reassembler.sweep(1_000), { reason: 'expired', dropped: 1 });
    assert.equal(reassembler.add(first as string, 2_000), undefined);
    const [other] = parts('b', 'b', 6, 'room:z', 'new_msg', { body: 'y'.repeat(30_000) });
    assert.equal(reassembler.add(other as string, 3_500), undefined);
    assert.equal(reassembler.pending, 1, 'the stale one went when the new one started');
    assert.ok(reassembler.heldChars <= PART_CHARS);
  });

  it('a duplicate, a gap, an index past the count or a changed count gives up that broadcast only', () => {
    const reassembler = new Reassembler();
    const big = parts('b', 'a', 1, 'room:d', 'e', { body: 'd'.repeat(30_000) });
    assert.ok(big.length >= 4);
    const [p0, p1, p2] = big as [string, string, string];
    assert.equal(reassembler.add(p0, 0), undefined);
    assert.deepEqual(reassembler.add(p0, 0), { reason: 'out_of_order', index: 0, expected: 1 }, 'a duplicate');
    assert.equal(reassembler.pending, 0);
    assert.deepEqual(reassembler.add(p1, 0), { reason: 'out_of_order', index: 1, expected: 0 }, 'the rest of a given-up broadcast');
    assert.equal(reassembler.add(p0, 0), undefined);
    assert.deepEqual(reassembler.add(p2, 0), { reason: 'out_of_order', index: 2, expected: 1 }, 'a gap');
    assert.deepEqual(reassembler.add('b|a|9|7|7|AAAA', 0), { reason: 'bad_header' }, 'index = count');
    assert.deepEqual(reassembler.add('b|a|9|9|2|AAAA', 0), { reason: 'bad_header' }, 'index past count');
    assert.equal(reassembler.add('b|a|9|0|3|AAAA', 0), undefined);
    assert.deepEqual(reassembler.add('b|a|9|1|4|AAAA', 0), { reason: 'part_count_changed' });
    assert.equal(reassembler.pending, 0);
    // Meanwhile another sender's broadcast is untouched.
    const other = parts('b', 'b', 1, 'room:d', 'e', { body: 'o'.repeat(30_000) });
    assert.deepEqual(other.map((p) => reassembler.add(p, 0)).at(-1), { via: 'b', node: 'b', topic: 'room:d', event: 'e', payload: { body: 'o'.repeat(30_000) } });
  });

  it('a flood of distinct reassembly ids holds at most maxInFlight; genuine broadcasts pass once the flood ages out', () => {
    const reassembler = new Reassembler(SMALL);
    const reasons = new Map<string, number>();
    for (let seq = 0; seq < 10_000; seq++) {
      const reason = reasonOf(reassembler.add(`b|flood|${seq}|0|3|${'A'.repeat(1_000)}`, seq / 100)) ?? 'held';
      reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(reasons), { held: SMALL.maxInFlight, too_many_in_flight: 10_000 - SMALL.maxInFlight });
    assert.equal(reassembler.pending, SMALL.maxInFlight);
    const small = parts('b', 'g', 1, 'room:g', 'e', { body: 'single parts need no room in flight' });
    assert.equal(reasonOf(reassembler.add(small[0] as string, 100)), undefined);
    const big = parts('b', 'g', 2, 'room:g', 'e', { body: 'g'.repeat(20_000) });
    assert.equal(reasonOf(big.map((p) => reassembler.add(p, 100 + SMALL.timeoutMs)).at(-1)), undefined);
  });

  it('oversized totals: refused by the sender, and held bytes are bounded at the receiver', () => {
    assert.deepEqual(encodeParts('b', 'a', 1, 'room:o', 'e', { body: 'x'.repeat(70_000) }, SMALL.maxBroadcastBytes), {
      ok: false,
      error: { reason: 'too_large', bytes: 70_000 + '{"t":"room:o","e":"e","p":{"body":""}}'.length, max: SMALL.maxBroadcastBytes },
    });
    const reassembler = new Reassembler(SMALL);
    const one = parts('b', 'a', 1, 'room:o', 'e', { body: 'x'.repeat(25_000) });
    const two = parts('b', 'b', 1, 'room:o', 'e', { body: 'x'.repeat(25_000) });
    const results = one.flatMap((p, i) => [reassembler.add(p, 0), two[i] === undefined ? undefined : reassembler.add(two[i], 0)]).filter((r) => r !== undefined);
    assert.equal(results.filter((r) => reasonOf(r) === undefined).length, 1, 'one of two 33 KB broadcasts fits 40,000 chars in flight');
    assert.equal(reasonOf(results[0]), 'too_many_in_flight', 'the other is given up when it would pass the bound');
    assert.ok(reassembler.heldChars <= SMALL.maxInFlightBytes);
    // A forged broadcast whose parts decode past the bound (counts are only a bound on base64).
    const forgedCount = partsFor(SMALL.maxBroadcastBytes);
    const chunk = Buffer.from('x'.repeat(PART_CHARS)).toString('base64').slice(0, PART_CHARS);
    const forged = new Reassembler({ ...SMALL, maxInFlightBytes: 10_000_000 });
    const last = Array.from({ length: forgedCount }, (_, i) => forged.add(`b|f|1|${i}|${forgedCount}|${chunk}`, 0)).at(-1);
    assert.equal(reasonOf(last), 'too_large');
  });

  it('garbage: not a header, not JSON, not a broadcast, not base64, too long, a payload JSON refuses', () => {
    const reassembler = new Reassembler();
    const cases: Array<[string, string]> = [
      ['hello', 'bad_header'],
      ['', 'bad_header'],
      ['b|a||0|1|{}', 'bad_header'],
      ['b|a|-1|0|1|{}', 'bad_header'],
      ['b|a|1e3|0|1|{}', 'bad_header'],
      [`b|${'n'.repeat(81)}|1|0|1|{}`, 'bad_header'],
      ['x|a|1|0|1|{"t":"x","e":"y","p":{}}', 'bad_header'],
      ['b|a|1|0|1|{nope', 'bad_json'],
      ['b|a|1|0|1|not json', 'bad_json'],
      ['c|a|1|0|1|{"t":"x"}', 'not_a_broadcast'],
      ['c|a|1|0|1|{"t":"x","e":"y","p":[1]}', 'not_a_broadcast'],
      ['c|a|1|0|1|{"t":"","e":"y","p":{}}', 'not_a_broadcast'],
      ['b|a|1|0|2|not base64!', 'not_a_broadcast'],
      [`b|a|1|0|1|${'x'.repeat(9_000)}`, 'oversized_part'],
    ];
    for (const [text, reason] of cases) assert.equal(reasonOf(reassembler.add(text, 0)), reason, text.slice(0, 60));
    const garbage = Buffer.from('{"t": nope').toString('base64');
    assert.equal(reassembler.add(`b|a|2|0|2|${garbage}`, 0), undefined);
    assert.equal(reasonOf(reassembler.add('b|a|2|1|2|', 0)), 'bad_json', 'parts that put together are not JSON');
    assert.equal(reassembler.pending, 0);
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    for (const payload of [{ n: 1n }, cycle, { get boom() { throw new Error('getter'); } }]) {
      assert.equal(reasonOf((encodeParts('b', 'a', 1, 't', 'e', payload) as { error: unknown }).error), 'unserializable');
    }
  });

  it('drops are logged, a flood of them as one line per reason per window with a count', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    const drops = new DropLog(log, 10_000);
    for (let i = 0; i < 1_000; i++) drops.dropped({ reason: 'bad_header' }, i);
    drops.dropped({ reason: 'bad_json' }, 5);
    drops.dropped({ reason: 'bad_header' }, 10_000);
    assert.deepEqual(
      lines.map((l) => [l['reason'], l['droppedSinceLastLine'], l['level']]),
      [['bad_header', 0, 40], ['bad_json', 0, 40], ['bad_header', 999, 40]],
    );
  });
});
