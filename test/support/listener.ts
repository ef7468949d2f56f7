import assert from 'node:assert/strict';
import { startServer, type GenServer, type Parent, type Pid } from '../../supervision/index.js';
import * as PubSub from '../../src/pubsub/pubsub.js';
import type { Broadcast } from '../../src/pubsub/broadcast.js';

/** A process that subscribes to topics and keeps every broadcast it is sent, in arrival order. */
export type ListenerCall =
  | { readonly type: 'received' }
  | { readonly type: 'subscribe'; readonly topic: string }
  | { readonly type: 'crash' };
export type ListenerProtocol = { readonly call: ListenerCall; readonly cast: never; readonly info: Broadcast };
export type ListenerPid = Pid<ListenerProtocol>;

interface State {
  readonly received: Broadcast[];
}

const listener: GenServer<readonly string[], State, ListenerProtocol> = {
  async init(topics, ctx) {
    for (const topic of topics) {
      const subscribed = await PubSub.subscribe(topic, ctx.self);
      if (!subscribed.ok) throw new Error(`subscribe failed: ${subscribed.error.detail}`);
    }
    return { received: [] };
  },
  async handleCall(message, _from, state, ctx) {
    switch (message.type) {
      case 'received':
        return { state, reply: state.received };
      case 'subscribe':
        return { state, reply: await PubSub.subscribe(message.topic, ctx.self) };
      case 'crash':
        throw new Error('listener crash on request');
    }
  },
  handleInfo(message, state) {
    if (message.type === 'broadcast') state.received.push(message);
    return state;
  },
};

export function startListener(parent: Parent, id: string, topics: readonly string[]) {
  return startServer(listener, topics, { parent, id });
}

export async function listen(parent: Parent, id: string, topics: readonly string[]): Promise<ListenerPid> {
  const started = await startListener(parent, id, topics);
  assert.ok(started.ok, `listener ${id} started`);
  return started.value;
}

/** A broadcast's payload JSON, as sockets and other nodes get it. */
export function json(broadcast: Broadcast): string {
  const serialised = broadcast.json();
  assert.ok(serialised.ok, `payload serialises: ${JSON.stringify(serialised)}`);
  return serialised.value;
}
