import type { Payload } from './broadcast.js';

/**
 * How broadcasts reach other nodes. The PubSub actor hands every local
 * broadcast to its adapter, and the adapter hands what other nodes published to
 * `deliver`, which dispatches it locally only (never back out, so nothing loops).
 */
export interface PubSubAdapter {
  readonly name: string;
  start(deliver: (topic: string, event: string, payload: Payload) => void): Promise<void>;
  publish(topic: string, event: string, payload: Payload): void;
  /** Resolves once everything committed before the call has been handed to `deliver`. */
  sync(): Promise<void>;
  stop(): Promise<void>;
}

/** One node: nothing to cross. The default, and the only adapter until the cluster issue. */
export const localAdapter: PubSubAdapter = {
  name: 'local',
  start: async () => {},
  publish: () => {},
  sync: async () => {},
  stop: async () => {},
};
