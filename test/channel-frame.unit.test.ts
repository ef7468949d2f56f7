/**
 * The codec in src/channel/ checked against the real client serializer (phoenix@1.8.16):
 * what the stock client sends must decode, what we send must decode in the client to exactly the
 * message it expects (nulls stay null, refs stay strings), and every malformed input must come
 * back as an error value with the documented policy (never a throw).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Serializer, type SerializerMessage } from 'phoenix';
import { asPayloadJson, broadcast, errorReply, heartbeatReply, phxClose, phxError, push, reply } from '../src/channel/encode.js';
import { CloseCode, CloseReason, Reason, dispositionFor } from '../src/channel/errors.js';
import { decodeFrame, stockHeartbeatRef, type DecodeOptions, type DecodeResult, type FrameError, type Payload, type TextFrame } from '../src/channel/frame.js';

const LIMIT: DecodeOptions = { maxBytes: 64 * 1024 };
const utf8 = new TextEncoder();

// --- helpers -------------------------------------------------------------------------------------

function clientEncode(msg: SerializerMessage): string | ArrayBuffer {
  return Serializer.encode(msg, (encoded) => encoded);
}

function clientDecode(raw: string | ArrayBuffer): SerializerMessage {
  return Serializer.decode(raw, (msg) => msg);
}

/** As uWS delivers it: an ArrayBuffer plus the binary flag, whatever the client produced. */
function decodeWire(raw: string | ArrayBuffer, options: DecodeOptions = LIMIT): DecodeResult {
  return typeof raw === 'string' ? decodeFrame(utf8.encode(raw).buffer, false, options) : decodeFrame(raw, true, options);
}

function decodeOk(result: DecodeResult): TextFrame {
  if (!result.ok) assert.fail(`expected a frame, got ${result.error.reason}: ${result.error.message}`);
  return result.value;
}

function decodeErr(result: DecodeResult): FrameError {
  if (result.ok) assert.fail(`expected an error, got a frame on ${result.value.topic}/${result.value.event}`);
  return result.error;
}

/** A text frame as uWS hands it: its UTF-8 bytes. */
const decodeText = (text: string, options: DecodeOptions = LIMIT): DecodeResult => decodeFrame(utf8.encode(text).buffer, false, options);

/** Text frame in, error out. */
function textErr(text: string, options: DecodeOptions = LIMIT): FrameError {
  return decodeErr(decodeText(text, options));
}

function binErr(bytes: readonly number[] | Uint8Array, options: DecodeOptions = LIMIT): FrameError {
  return decodeErr(decodeFrame(Uint8Array.from(bytes).buffer, true, options));
}

function bytesOf(buffer: ArrayBuffer | Uint8Array): number[] {
  return Array.from(buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer));
}

/** The payload as it comes out of a JSON round trip (-0 becomes 0, undefined members vanish...). */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

// Arbitraries. Strings include quotes, backslashes, control characters and lone surrogates,
// which JSON.stringify must escape and JSON.parse must restore.
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code));
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: anyUnit }));
const nonEmpty = anyString.filter((s) => s.length > 0);
const refArb = fc.oneof(fc.nat().map(String), anyString);
const payloadArb: fc.Arbitrary<Payload> = fc.dictionary(anyString, fc.jsonValue(), { maxKeys: 6 });
// TextEncoder replaces lone surrogates, so binary fields use well-formed text only.
const wellFormed = fc.string({ unit: 'binary', maxLength: 40 });
const wellFormedNonEmpty = wellFormed.filter((s) => s.length > 0);
const bytesArb = fc.uint8Array({ maxLength: 64 });

// --- client -> server ---------------------------------------------------------------------------

describe('decoding what the stock client sends', () => {
  test('join, push, leave and heartbeat text frames from Serializer.encode', () => {
    const messages: SerializerMessage[] = [
      { join_ref: '5', ref: '5', topic: 'room:lobby', event: 'phx_join', payload: { attempt: 1 } },
      { join_ref: '5', ref: '6', topic: 'room:lobby', event: 'new_msg', payload: { body: 'hi "there" \\ \u2028' } },
      { join_ref: '21', ref: '24', topic: 'room:1', event: 'phx_leave', payload: {} },
      { join_ref: null, ref: '9', topic: 'phoenix', event: 'heartbeat', payload: {} },
    ];
    for (const msg of messages) {
      const raw = clientEncode(msg);
      assert.equal(typeof raw, 'string');
      const frame = decodeOk(decodeWire(raw));
      assert.deepEqual(frame, {
        joinRef: msg.join_ref,
        ref: msg.ref,
        topic: msg.topic,
        event: msg.event,
        payload: msg.payload,
      });
    }
  });

  test('any text push the client can produce decodes to the same fields (property)', () => {
    fc.assert(
      fc.property(fc.option(refArb, { nil: null }), refArb, nonEmpty, nonEmpty, payloadArb, (joinRef, ref, topic, event, payload) => {
        const raw = clientEncode({ join_ref: joinRef, ref, topic, event, payload });
        const frame = decodeOk(decodeWire(raw));
        assert.equal(frame.joinRef, joinRef);
        assert.equal(frame.ref, ref);
        assert.equal(frame.topic, topic);
        assert.equal(frame.event, event);
        assert.deepEqual(frame.payload, viaJson(payload));
      }),
      { numRuns: 300 },
    );
  });

  test('the binary push from PROTOCOL.md §2.2 byte for byte: refused, answered by its ref', () => {
    const raw = clientEncode({ join_ref: '5', ref: '8', topic: 'room:1', event: 'bin', payload: new Uint8Array([1, 2, 3]).buffer });
    assert.ok(raw instanceof ArrayBuffer);
    assert.deepEqual(bytesOf(raw), [0, 1, 1, 6, 3, ...utf8.encode('58room:1bin'), 1, 2, 3]);
    const error = decodeErr(decodeFrame(raw, true, LIMIT));
    assert.equal(error.reason, 'binary_not_supported');
    assert.deepEqual(dispositionFor(error), { action: 'reply', joinRef: '5', ref: '8', topic: 'room:1', reason: Reason.binaryNotSupported });
  });

  test('any binary push the client can produce is refused with its own header, whatever the payload (property)', () => {
    fc.assert(
      fc.property(wellFormed, wellFormed, wellFormedNonEmpty, wellFormedNonEmpty, bytesArb, (joinRef, ref, topic, event, data) => {
        const raw = clientEncode({ join_ref: joinRef, ref, topic, event, payload: data.slice().buffer });
        assert.ok(raw instanceof ArrayBuffer);
        const error = decodeErr(decodeFrame(raw, true, LIMIT));
        assert.equal(error.reason, 'binary_not_supported');
        assert.deepEqual([error.joinRef, error.ref, error.topic], [joinRef, ref, topic]);
      }),
      { numRuns: 300 },
    );
  });

  test('a view with a non-zero offset (Node Buffer from ws) is read at its offset', () => {
    const text = '["1","2","room:1","ev",{"a":1}]';
    const backing = Buffer.concat([Buffer.from('GARBAGE'), Buffer.from(text), Buffer.from('TAIL')]);
    const view = backing.subarray(7, 7 + Buffer.byteLength(text));
    const frame = decodeOk(decodeFrame(view, false, LIMIT));
    assert.deepEqual(frame.payload, { a: 1 });
  });

  test('elements after the 5th are ignored, like Phoenix; JSON whitespace is fine', () => {
    const frame = decodeOk(decodeText(' [ "1" , "2" , "t" , "e" , { } , 42, "x" ] ', LIMIT));
    assert.deepEqual(frame, { joinRef: '1', ref: '2', topic: 't', event: 'e', payload: {} });
  });

  test('a "__proto__" key in the payload stays an own data property', () => {
    const frame = decodeOk(decodeText('["1","2","t","e",{"__proto__":{"polluted":true}}]', LIMIT));
    assert.equal(Object.getPrototypeOf(frame.payload), Object.prototype);
    assert.ok(Object.hasOwn(frame.payload, '__proto__'));
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

// --- server -> client ---------------------------------------------------------------------------

describe('what we encode, as the stock client decodes it', () => {
  test('exact wire strings from PROTOCOL.md', () => {
    assert.equal(reply('5', '6', 'room:lobby', 'ok', { id: 42 }), '["5","6","room:lobby","phx_reply",{"status":"ok","response":{"id":42}}]');
    assert.equal(
      errorReply(null, '7', 'nope:1', Reason.unmatchedTopic),
      '[null,"7","nope:1","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}]',
    );
    assert.equal(push('5', 'room:lobby', 'presence_state', {}), '["5",null,"room:lobby","presence_state",{}]');
    assert.equal(
      broadcast('room:lobby', 'new_msg', { body: 'hi', user: 'bob' }),
      '[null,null,"room:lobby","new_msg",{"body":"hi","user":"bob"}]',
    );
    assert.equal(phxError('5', 'room:1', 'channel_crash'), '["5","5","room:1","phx_error",{"reason":"channel_crash"}]');
    assert.equal(phxError('5', 'room:1'), '["5","5","room:1","phx_error",{}]');
    assert.equal(phxClose('13', 'room:1'), '["13","13","room:1","phx_close",{}]');
    assert.equal(heartbeatReply('9'), '[null,"9","phoenix","phx_reply",{"status":"ok","response":{}}]');
  });

  test('every text encoder decodes to the message the client expects (property)', () => {
    fc.assert(
      fc.property(refArb, refArb, nonEmpty, nonEmpty, nonEmpty, payloadArb, (joinRef, ref, topic, event, status, payload) => {
        const expectations: Array<[string, SerializerMessage]> = [
          [
            reply(joinRef, ref, topic, status, payload),
            { join_ref: joinRef, ref, topic, event: 'phx_reply', payload: { status, response: viaJson(payload) } },
          ],
          [
            reply(null, ref, topic, 'ok', payload),
            { join_ref: null, ref, topic, event: 'phx_reply', payload: { status: 'ok', response: viaJson(payload) } },
          ],
          [
            errorReply(joinRef, ref, topic, status),
            { join_ref: joinRef, ref, topic, event: 'phx_reply', payload: { status: 'error', response: { reason: status } } },
          ],
          [push(joinRef, topic, event, payload), { join_ref: joinRef, ref: null, topic, event, payload: viaJson(payload) }],
          [broadcast(topic, event, payload), { join_ref: null, ref: null, topic, event, payload: viaJson(payload) }],
          [phxError(joinRef, topic, status), { join_ref: joinRef, ref: joinRef, topic, event: 'phx_error', payload: { reason: status } }],
          [phxError(joinRef, topic), { join_ref: joinRef, ref: joinRef, topic, event: 'phx_error', payload: {} }],
          [phxClose(joinRef, topic), { join_ref: joinRef, ref: joinRef, topic, event: 'phx_close', payload: {} }],
          [heartbeatReply(ref), { join_ref: null, ref, topic: 'phoenix', event: 'phx_reply', payload: { status: 'ok', response: {} } }],
        ];
        for (const [wire, expected] of expectations) {
          const msg = clientDecode(wire);
          assert.deepEqual(msg, expected);
          // Refs must arrive as strings or null, never numbers: the client compares with ===.
          for (const r of [msg.join_ref, msg.ref]) assert.ok(r === null || typeof r === 'string');
        }
      }),
      { numRuns: 300 },
    );
  });

  test('broadcast stays correct across its prefix cache filling up and being cleared', () => {
    for (let i = 0; i < 3000; i++) {
      const topic = `room:${i % 1500}`;
      const event = `ev${i % 100}`;
      assert.equal(broadcast(topic, event, { i }), JSON.stringify([null, null, topic, event, { i }]));
    }
  });

  test('what we encode is also what our own decoder reads back', () => {
    const frame = decodeOk(decodeText(push('3', 'room:ü', 'ev"\\', { n: [1, 'x'] }), LIMIT));
    assert.deepEqual(frame, { joinRef: '3', ref: null, topic: 'room:ü', event: 'ev"\\', payload: { n: [1, 'x'] } });
  });

  test('payloads that are not JSON objects are refused; JSON made ahead frames the same as the payload', () => {
    assert.throws(() => broadcast('t', 'e', { toJSON: () => [1, 2] }), TypeError);
    assert.throws(() => broadcast('t', 'e', { n: 1n }), TypeError);
    assert.throws(() => asPayloadJson('[1,2]'), TypeError);
    assert.equal(broadcast('t', 'e', asPayloadJson('{"n":1}')), broadcast('t', 'e', { n: 1 }));
    assert.equal(broadcast('t', 'e', { n: 1 }), '[null,null,"t","e",{"n":1}]');
  });
});

// --- malformed input ----------------------------------------------------------------------------

describe('malformed input is an error value with the documented disposition', () => {
  test('invalid JSON closes with 1007', () => {
    for (const text of ['', '[', '["1","2","t","e",{}', 'not json', '["1",]']) {
      const error = textErr(text);
      assert.equal(error.reason, 'malformed_json', text);
      assert.deepEqual(dispositionFor(error), { action: 'close', code: CloseCode.invalidPayload, reason: CloseReason.malformedJson });
    }
  });

  test('valid JSON that is not an array closes', () => {
    for (const text of ['{"topic":"t"}', '"x"', '42', 'null', 'true']) {
      const error = textErr(text);
      assert.equal(error.reason, 'bad_frame', text);
      if (error.reason === 'bad_frame') assert.equal(error.field, 'frame');
      assert.equal(dispositionFor(error).action, 'close');
    }
  });

  test('4 elements: bad_frame on the frame, answered by ref since ref and topic are readable', () => {
    const error = textErr('["1","2","room:1","new_msg"]');
    assert.equal(error.reason, 'bad_frame');
    if (error.reason === 'bad_frame') assert.equal(error.field, 'frame');
    assert.match(error.message, /4 elements/);
    assert.deepEqual(dispositionFor(error), { action: 'reply', joinRef: '1', ref: '2', topic: 'room:1', reason: Reason.badFrame });
  });

  test('too few elements and nothing addressable closes', () => {
    const error = textErr('[]');
    assert.equal(error.reason, 'bad_frame');
    assert.deepEqual(dispositionFor(error), { action: 'close', code: CloseCode.invalidPayload, reason: CloseReason.badFrame });
  });

  test('each field with a wrong type is named', () => {
    const cases: Array<[string, string]> = [
      ['[1,"2","t","e",{}]', 'join_ref'],
      ['["1",2,"t","e",{}]', 'ref'],
      ['["1",{},"t","e",{}]', 'ref'],
      ['["1","2","","e",{}]', 'topic'],
      ['["1","2",7,"e",{}]', 'topic'],
      ['["1","2","t","",{}]', 'event'],
      ['["1","2","t",null,{}]', 'event'],
      ['["1","2","t","e",[]]', 'payload'],
      ['["1","2","t","e",null]', 'payload'],
      ['["1","2","t","e","str"]', 'payload'],
      ['["1","2","t","e",5]', 'payload'],
    ];
    for (const [text, field] of cases) {
      const error = textErr(text);
      assert.equal(error.reason, 'bad_frame', text);
      if (error.reason === 'bad_frame') assert.equal(error.field, field, text);
      assert.ok(error.message.startsWith(field), error.message);
    }
  });

  test('numeric ref: no ref to answer, so close 1007', () => {
    const error = textErr('["1",6,"room:1","new_msg",{}]');
    assert.deepEqual({ ref: error.ref, topic: error.topic }, { ref: null, topic: 'room:1' });
    assert.deepEqual(dispositionFor(error), { action: 'close', code: CloseCode.invalidPayload, reason: CloseReason.badFrame });
  });

  test('null ref: nobody waits for a reply, so close', () => {
    const error = textErr('[null,null,"room:1","new_msg",[]]');
    assert.equal(dispositionFor(error).action, 'close');
  });

  test('payload array or null with a readable ref gets a bad_frame error reply addressed to that push', () => {
    for (const payload of ['[]', 'null']) {
      const error = textErr(`["5","6","room:1","new_msg",${payload}]`);
      const disposition = dispositionFor(error);
      assert.deepEqual(disposition, { action: 'reply', joinRef: '5', ref: '6', topic: 'room:1', reason: Reason.badFrame });
      // ...and that reply is something the client matches to its push.
      if (disposition.action !== 'reply') assert.fail('expected a reply');
      const msg = clientDecode(errorReply(disposition.joinRef, disposition.ref, disposition.topic, disposition.reason));
      assert.deepEqual(msg, {
        join_ref: '5',
        ref: '6',
        topic: 'room:1',
        event: 'phx_reply',
        payload: { status: 'error', response: { reason: 'bad_frame' } },
      });
    }
  });

  test('a numeric join_ref is not echoed back (it would be a number on the wire)', () => {
    const error = textErr('[5,"6","room:1","new_msg",{}]');
    assert.deepEqual(dispositionFor(error), { action: 'reply', joinRef: null, ref: '6', topic: 'room:1', reason: Reason.badFrame });
  });

  test('huge text frame: too_large without parsing; header still read from the prefix so it is answered', () => {
    const options: DecodeOptions = { maxBytes: 1024 };
    const text = `["5","6","room:1","new_msg",{"body":"${'a'.repeat(5000)}"}]`;
    const error = textErr(text, options);
    assert.equal(error.reason, 'too_large');
    if (error.reason === 'too_large') assert.deepEqual([error.size, error.limit], [Buffer.byteLength(text), 1024]);
    assert.deepEqual(dispositionFor(error), { action: 'reply', joinRef: '5', ref: '6', topic: 'room:1', reason: Reason.frameTooLarge });
  });

  test('huge text frame with no readable header closes with 1009', () => {
    const options: DecodeOptions = { maxBytes: 1024 };
    for (const text of ['x'.repeat(5000), `[null,7,"room:1","e",{"b":"${'a'.repeat(5000)}"}]`, `["${'r'.repeat(5000)}"]`]) {
      const error = textErr(text, options);
      assert.equal(error.reason, 'too_large');
      assert.deepEqual(dispositionFor(error), { action: 'close', code: CloseCode.messageTooBig, reason: CloseReason.frameTooLarge });
    }
  });

  test('the size limit is in UTF-8 bytes, and a frame exactly at the limit passes', () => {
    const text = '["1","2","t","e",{"b":"ééé"}]';
    const size = Buffer.byteLength(text);
    assert.ok(decodeText(text, { maxBytes: size }).ok);
    assert.ok(decodeFrame(utf8.encode(text).buffer, false, { maxBytes: size }).ok);
    assert.equal(textErr(text, { maxBytes: size - 1 }).reason, 'too_large');
  });

  test('invalid UTF-8 in a text frame closes with 1007', () => {
    const bytes = Uint8Array.from([...utf8.encode('["1","2","t","e",{"b":"'), 0xff, 0xfe, ...utf8.encode('"}]')]);
    const error = decodeErr(decodeFrame(bytes.buffer, false, LIMIT));
    assert.equal(error.reason, 'invalid_utf8');
    assert.deepEqual(dispositionFor(error), { action: 'close', code: CloseCode.invalidPayload, reason: CloseReason.invalidUtf8 });
  });

  test('empty binary frame', () => {
    const error = binErr([]);
    assert.equal(error.reason, 'bad_binary');
    if (error.reason === 'bad_binary') assert.equal(error.problem, 'empty');
    assert.equal(dispositionFor(error).action, 'close');
  });

  test('binary kind != 0 closes with 1003', () => {
    for (const kind of [1, 2, 3, 255]) {
      const error = binErr([kind, 1, 1, 1, 1, 0x31, 0x32, 0x74, 0x65]);
      assert.equal(error.reason, 'bad_binary');
      if (error.reason === 'bad_binary') assert.equal(error.problem, 'unknown_kind');
      assert.deepEqual(dispositionFor(error), { action: 'close', code: CloseCode.unsupportedData, reason: CloseReason.unsupportedBinary });
    }
  });

  test('server->client binary layouts sent back to us are refused', () => {
    // A broadcast (kind 2): topic_len, event_len, then the fields and the payload.
    const echoed = Uint8Array.from([2, 6, 2, ...utf8.encode('room:1ev'), 1]);
    assert.equal(decodeErr(decodeFrame(echoed.buffer, true, LIMIT)).reason, 'bad_binary');
  });

  test('truncated binary header', () => {
    for (const bytes of [[0], [0, 1, 1], [0, 1, 1, 6]]) {
      const error = binErr(bytes);
      assert.equal(error.reason, 'bad_binary');
      if (error.reason === 'bad_binary') assert.equal(error.problem, 'truncated_header');
      assert.equal(dispositionFor(error).action, 'close');
    }
  });

  test('truncated binary fields: what was read is kept, so a cut inside event is still answered', () => {
    const full = clientEncode({ join_ref: '5', ref: '8', topic: 'room:1', event: 'bin', payload: new Uint8Array([1]).buffer });
    assert.ok(full instanceof ArrayBuffer);
    const bytes = new Uint8Array(full);

    const inEvent = binErr(bytes.subarray(0, 5 + 1 + 1 + 6 + 1));
    assert.equal(inEvent.reason, 'bad_binary');
    if (inEvent.reason === 'bad_binary') assert.deepEqual([inEvent.problem, inEvent.field], ['truncated_fields', 'event']);
    assert.deepEqual(dispositionFor(inEvent), { action: 'reply', joinRef: '5', ref: '8', topic: 'room:1', reason: Reason.badFrame });

    const inTopic = binErr(bytes.subarray(0, 5 + 1 + 1 + 3));
    if (inTopic.reason !== 'bad_binary') assert.fail(inTopic.reason);
    assert.deepEqual([inTopic.problem, inTopic.field, inTopic.ref, inTopic.topic], ['truncated_fields', 'topic', '8', null]);
    assert.equal(dispositionFor(inTopic).action, 'close');

    // Payload cut short is not detectable (it has no length): still a push, refused as binary.
    const noPayload = decodeErr(decodeFrame(bytes.slice(0, bytes.length - 1).buffer, true, LIMIT));
    assert.equal(noPayload.reason, 'binary_not_supported');
  });

  test('binary header field that is not UTF-8, and empty topic or event', () => {
    const badTopic = binErr([0, 1, 1, 2, 1, 0x31, 0x32, 0xc3, 0x28, 0x65]);
    if (badTopic.reason !== 'bad_binary') assert.fail(badTopic.reason);
    assert.deepEqual([badTopic.problem, badTopic.field], ['invalid_utf8', 'topic']);
    assert.equal(dispositionFor(badTopic).action, 'close');

    const emptyTopic = binErr([0, 1, 1, 0, 1, 0x31, 0x32, 0x65]);
    if (emptyTopic.reason !== 'bad_binary') assert.fail(emptyTopic.reason);
    assert.deepEqual([emptyTopic.problem, emptyTopic.field], ['empty_field', 'topic']);

    const emptyEvent = binErr([0, 1, 1, 1, 0, 0x31, 0x32, 0x74]);
    if (emptyEvent.reason !== 'bad_binary') assert.fail(emptyEvent.reason);
    assert.deepEqual([emptyEvent.problem, emptyEvent.field], ['empty_field', 'event']);
    assert.deepEqual(dispositionFor(emptyEvent), { action: 'reply', joinRef: '1', ref: '2', topic: 't', reason: Reason.badFrame });
  });

  test('huge binary frame is answered by ref (the header has a bounded size)', () => {
    const raw = clientEncode({ join_ref: '5', ref: '8', topic: 'room:1', event: 'bin', payload: new ArrayBuffer(10_000) });
    assert.ok(raw instanceof ArrayBuffer);
    const error = decodeErr(decodeFrame(raw, true, { maxBytes: 1024 }));
    assert.equal(error.reason, 'too_large');
    assert.deepEqual(dispositionFor(error), { action: 'reply', joinRef: '5', ref: '8', topic: 'room:1', reason: Reason.frameTooLarge });
  });

  test('binary refused by a JSON-only server is answered by ref', () => {
    const raw = clientEncode({ join_ref: '5', ref: '8', topic: 'room:1', event: 'bin', payload: new ArrayBuffer(3) });
    assert.ok(raw instanceof ArrayBuffer);
    const error = decodeErr(decodeFrame(raw, true, { maxBytes: 1024 }));
    assert.equal(error.reason, 'binary_not_supported');
    assert.deepEqual(dispositionFor(error), {
      action: 'reply',
      joinRef: '5',
      ref: '8',
      topic: 'room:1',
      reason: Reason.binaryNotSupported,
    });
  });

  test('the decoder never throws, whatever the bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, isBinary) => {
        const result = decodeFrame(bytes.buffer, isBinary, { maxBytes: 200 });
        assert.equal(typeof result.ok, 'boolean');
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 7 }), (items) => {
        const result = decodeText(JSON.stringify(items), LIMIT);
        // Valid exactly when the shape is right; otherwise an error that names a field.
        if (!result.ok) {
          assert.ok(['bad_frame'].includes(result.error.reason), result.error.reason);
          assert.equal(typeof result.error.message, 'string');
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("the stock heartbeat's fast path (stockHeartbeatRef)", () => {
  const bytes = (text: string): ArrayBuffer => utf8.encode(text).buffer as ArrayBuffer;

  test("reads the ref of every heartbeat phoenix.js sends", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const sent = clientEncode({ join_ref: null, ref: String(n), topic: 'phoenix', event: 'heartbeat', payload: {} });
        assert.equal(typeof sent, 'string');
        assert.equal(stockHeartbeatRef(bytes(String(sent))), String(n));
      }),
    );
  });

  test('whatever it reads, the full decode reads as the same heartbeat; anything else is left to the full decode', () => {
    const near = fc.oneof(
      fc.string({ maxLength: 40 }).map((ref) => JSON.stringify([null, ref, 'phoenix', 'heartbeat', {}])),
      fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `[null,"${a}","phoenix","heartbeat",{}]${b}`),
      fc.string({ maxLength: 60 }).map((junk) => `[null,"1","phoenix","heartbeat",{}]`.slice(0, junk.length % 38) + junk),
    );
    fc.assert(
      fc.property(near, (text) => {
        const ref = stockHeartbeatRef(bytes(text));
        if (ref === undefined) return;
        const decoded = decodeText(text);
        assert.ok(decoded.ok, text);
        assert.deepEqual([decoded.value.topic, decoded.value.event, decoded.value.ref, decoded.value.joinRef], ['phoenix', 'heartbeat', ref, null]);
      }),
    );
  });

  test('other frames, escaped refs and over-long refs take the full decode', () => {
    for (const text of [
      '[null,"1","phoenix","heartbeat",{"a":1}]',
      '[null,"a\\"b","phoenix","heartbeat",{}]',
      '["1","2","phoenix","heartbeat",{}]',
      '[null,"","phoenix","heartbeat",{}]',
      `[null,"${'9'.repeat(33)}","phoenix","heartbeat",{}]`,
      '[null,"1","room:a","heartbeat",{}]',
    ]) {
      assert.equal(stockHeartbeatRef(bytes(text)), undefined, text);
    }
  });
});
