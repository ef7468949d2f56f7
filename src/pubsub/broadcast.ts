import { ok, type Result } from '../../supervision/result.js';
import * as Encode from '../channel/encode.js';
import type { Payload } from '../channel/frame.js';
import type { Pid } from '../../supervision/index.js';

/**
 * One published event. Its wire frame is encoded at most once, on first use,
 * and the same string then goes to every socket: 5,000 subscribers cost one
 * JSON.stringify, not 5,000.
 */
export class Broadcast {
  readonly type = 'broadcast';
  #frame: string | undefined;

  constructor(
    readonly topic: string,
    readonly event: string,
    readonly payload: Payload,
    /** The sender left out by broadcastFrom. */
    readonly from: Pid | undefined = undefined,
  ) {}

  /** Throws on a payload that cannot be encoded: PubSub checks `encoded()` before anything reads this. */
  get frame(): string {
    this.#frame ??= Encode.broadcast(this.topic, this.event, this.payload);
    return this.#frame;
  }

  /** The frame, or why the payload cannot be one (a BigInt, a cycle, a getter or toJSON that throws); encodes at most once when it can. */
  encoded(): Result<string, Encode.EncodeError> {
    if (this.#frame !== undefined) return ok(this.#frame);
    const result = Encode.tryEncode(() => Encode.broadcast(this.topic, this.event, this.payload));
    if (result.ok) this.#frame = result.value;
    return result;
  }
}
