/**
 * Hand-written typings for the parts of `phoenix@1.8.16` the tests use (the package ships none,
 * and @types/phoenix targets 1.6). Keep this file free of top-level import/export: it must stay an
 * ambient declaration, otherwise `declare module` becomes an augmentation of an untyped module.
 * Add further exports (Socket, Channel, Presence...) inside the same block.
 */
declare module 'phoenix' {
  /** A message as the client's serializer sees it (PROTOCOL.md §2). */
  export interface SerializerMessage {
    join_ref: string | null;
    ref: string | null;
    topic: string;
    event: string;
    payload: unknown;
  }

  /** The V2 serializer: JSON arrays for text, the §2.2 layout when the payload is an exact ArrayBuffer. */
  export const Serializer: {
    encode<R>(msg: SerializerMessage, callback: (encoded: string | ArrayBuffer) => R): R;
    decode<R>(rawPayload: string | ArrayBuffer, callback: (msg: SerializerMessage) => R): R;
  };
}
