import assert from 'node:assert/strict';
import { call, reply, startServer, type From, type GenServer, type Parent, type Pid } from '../../supervision/index.js';
import * as PubSub from '../../src/pubsub/pubsub.js';
import type { Broadcast } from '../../src/pubsub/broadcast.js';

/** A process that subscribes to topics and keeps every broadcast it is sent, in arrival order. */
export type ListenerCall =
  | { readonly type: 'received' }
  /** Answered once `count` broadcasts have arrived (at once if they have). */
  | { readonly type: 'received_at_least'; readonly count: number }
  | { readonly type: 'subscribe'; readonly topic: string }
  | { readonly type: 'crash' };
export type ListenerProtocol = { readonly call: ListenerCall; readonly cast: never; readonly info: Broadcast };
export type ListenerPid = Pid<ListenerProtocol>;

interface State {
  readonly received: Broadcast[];
  readonly waiting: Array<{ readonly count: number; readonly from: From }>;
}

const listener: GenServer<readonly string[], State, ListenerProtocol> = {
  async init(topics, ctx) {
    for (const topic of topics) {
      const subscribed = await PubSub.subscribe(topic, ctx.self);
      if (!subscribed.ok) throw new Error(`subscribe failed: ${subscribed.error.detail}`);
    }
    return { received: [], waiting: [] };
  },
  async handleCall(message, from, state, ctx) {
    switch (message.type) {
      case 'received':
        return { state, reply: state.received };
      case 'received_at_least':
        if (state.received.length >= message.count) return { state, reply: [...state.received] };
        state.waiting.push({ count: message.count, from });
        return { state, noreply: true };
      case 'subscribe':
        return { state, reply: await PubSub.subscribe(message.topic, ctx.self) };
      case 'crash':
        throw new Error('listener crash on request');
    }
  },
  handleInfo(message, state) {
    if (message.type !== 'broadcast') return state;
    state.received.push(message);
    const ready = state.waiting.filter((waiter) => waiter.count <= state.received.length);
    for (const waiter of ready) {
      state.waiting.splice(state.waiting.indexOf(waiter), 1);
      reply(waiter.from, [...state.received]);
    }
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

/** Every broadcast `listener` got, once it has got at least `count`: waits on their arrival, failing after `timeoutMs`. */
export async function receivedAtLeast(listener: ListenerPid, count: number, timeoutMs = 5_000): Promise<Broadcast[]> {
  const result = await call<Broadcast[]>(listener, { type: 'received_at_least', count }, timeoutMs);
  assert.ok(result.ok, `listener got ${count} broadcasts: ${JSON.stringify(result)}`);
  return result.value;
}

/** A broadcast's payload JSON, as sockets and other nodes get it. */
export function json(broadcast: Broadcast): string {
  const serialised = broadcast.json();
  assert.ok(serialised.ok, `payload serialises: ${JSON.stringify(serialised)}`);
  return serialised.value;
}
