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

declare module 'phoenix' {
  export interface Push {
    receive(status: string, callback: (response: Record<string, unknown>) => void): Push;
  }
  export class Channel {
    topic: string;
    /** The join's Push: its receive hooks run on every join reply, rejoins included. */
    joinPush: Push;
    join(timeout?: number): Push;
    leave(timeout?: number): Push;
    push(event: string, payload: object, timeout?: number): Push;
    on(event: string, callback: (payload: Record<string, unknown>) => void): number;
    off(event: string, ref?: number): void;
    onError(callback: (reason?: unknown) => void): void;
    onClose(callback: (payload?: unknown) => void): void;
    joinRef(): string;
    state: string;
  }
  export interface SocketOptions {
    transport?: unknown;
    params?: object | (() => object);
    heartbeatIntervalMs?: number;
    reconnectAfterMs?: (tries: number) => number;
    rejoinAfterMs?: (tries: number) => number;
    timeout?: number;
    logger?: (kind: string, msg: string, data: unknown) => void;
  }
  export class Socket {
    constructor(endPoint: string, opts?: SocketOptions);
    connect(): void;
    disconnect(callback?: () => void, code?: number, reason?: string): void;
    channel(topic: string, params?: object | (() => object)): Channel;
    onOpen(callback: () => void): string;
    onClose(callback: (event: unknown) => void): string;
    onError(callback: (error: unknown) => void): string;
    isConnected(): boolean;
    connectionState(): string;
  }
  export interface PresenceOpts {
    events?: { state: string; diff: string };
  }
  export interface Presence {
    onSync(callback: () => void): void;
    onJoin(callback: PhxPresenceCallback): void;
    onLeave(callback: PhxPresenceCallback): void;
    list<T = { metas: PhxPresenceMeta[] }>(chooser?: (key: string, presence: { metas: PhxPresenceMeta[] }) => T): T[];
  }
}
