import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeParts, MAX_NOTIFY_BYTES, Reassembler } from '../src/pubsub/notify-frames.js';

describe('broadcasts as NOTIFY payloads', () => {
  it('a small broadcast is one part, read back as it was', () => {
    const parts = encodeParts('b', 'a@host', 1, 'room:lobby', 'new_msg', { id: 7, body: 'hi | there' });
    assert.equal(parts.length, 1);
    assert.deepEqual(new Reassembler().add(parts[0] as string), { via: 'b', node: 'a@host', topic: 'room:lobby', event: 'new_msg', payload: { id: 7, body: 'hi | there' } });
  });

  it('a large one (quotes, backslashes, non-ASCII) is cut under the NOTIFY limit and comes back whole, whatever else interleaves', () => {
    const payload = { body: 'é"\\ 😀 '.repeat(4_000), list: Array.from({ length: 500 }, (_, i) => ({ i })) };
    const big = encodeParts('c', 'a', 2, 'room:x', 'presence_state', payload);
    assert.ok(big.length > 3, `${big.length} parts`);
    for (const part of big) assert.ok(Buffer.byteLength(part) <= MAX_NOTIFY_BYTES, `${Buffer.byteLength(part)} bytes`);
    const other = encodeParts('b', 'b', 9, 'room:y', 'new_msg', { body: 'x'.repeat(20_000) });
    const parts = new Reassembler();
    const done = [];
    for (let i = 0; i < Math.max(big.length, other.length); i++) {
      for (const list of [big, other]) {
        const part = list[i];
        if (part === undefined) continue;
        const result = parts.add(part);
        if (result !== undefined) done.push(result);
      }
    }
    assert.deepEqual(done.map((d) => ('node' in d ? d.node : d.kind)).sort(), ['a', 'b']);
    assert.deepEqual(done.find((d) => 'node' in d && d.node === 'a'), { via: 'c', node: 'a', topic: 'room:x', event: 'presence_state', payload });
    assert.equal(parts.pending, 0);
  });

  it('what is not ours is an error value; parts that stop coming are dropped', () => {
    const parts = new Reassembler(1_000);
    assert.deepEqual(parts.add('hello'), { kind: 'malformed_notify', detail: 'bad header' });
    assert.deepEqual(parts.add('b|a|1|0|1|not json'), { kind: 'malformed_notify', detail: 'body is not JSON' });
    assert.deepEqual(parts.add('c|a|1|0|1|{"t":"x"}'), { kind: 'malformed_notify', detail: 'body is not a broadcast' });
    assert.deepEqual(parts.add('b|a|1|3|2|xx'), { kind: 'malformed_notify', detail: 'bad header' });
    assert.deepEqual(parts.add('x|a|1|0|1|{"t":"x","e":"y","p":{}}'), { kind: 'malformed_notify', detail: 'bad header' }, 'an unknown kind');
    const [first] = encodeParts('b', 'a', 5, 'room:z', 'new_msg', { body: 'y'.repeat(30_000) });
    assert.equal(parts.add(first as string, 0), undefined);
    assert.equal(parts.sweep(500), 0);
    assert.equal(parts.sweep(1_500), 1);
    assert.equal(parts.pending, 0);
  });
});
