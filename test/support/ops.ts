import { createServer } from 'node:net';
import type { Channel, Socket } from 'phoenix';
import { connect, push, type Reply } from './phoenix-client.js';
import { Changes } from './probe.js';

/** Helpers for the operations tests (admin API, metrics, ctl). */

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/**
 * A free port, for apps whose Endpoint gets restarted: with PORT=0 a restarted
 * listener would pick another port and no client could find it again.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function admin(
  httpUrl: string,
  method: 'GET' | 'POST',
  path: string,
  token: string | null = ADMIN_TOKEN,
): Promise<{ status: number; body: unknown; type: string | null }> {
  const res = await fetch(`${httpUrl}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (the admin page): the text itself.
  }
  return { status: res.status, body, type: res.headers.get('content-type') };
}

export interface ChatMessage {
  id: number;
  user: string;
  body: string;
}

/** A phoenix.js client in a room that rejoins with last_seen_id, as the browser client does. */
export class Member {
  readonly socket: Socket;
  readonly channel: Channel;
  readonly seen: number[] = [];
  readonly errors: unknown[] = [];
  /** Told of every message seen, for `until`. */
  readonly arrivals = new Changes();
  lastSeenId: number | undefined = undefined;

  constructor(
    wsUrl: string,
    readonly name: string,
    readonly room: string,
  ) {
    this.socket = connect(wsUrl);
    this.channel = this.socket.channel(`room:${room}`, () => ({
      username: name,
      token: `${name}-token-`.padEnd(24, 'x'),
      ...(this.lastSeenId === undefined ? {} : { last_seen_id: this.lastSeenId }),
    }));
    this.channel.on('new_msg', (payload) => this.receive(payload as unknown as ChatMessage));
    this.channel.onError((reason) => this.errors.push(reason));
  }

  join(): Promise<Reply> {
    // phoenix.js runs these hooks again on every automatic rejoin, whose reply carries the catch-up.
    return new Promise((resolve) => {
      this.channel
        .join()
        .receive('ok', (response: Record<string, unknown>) => {
          for (const message of (response['messages'] ?? []) as ChatMessage[]) this.receive(message);
          resolve({ status: 'ok', response });
        })
        .receive('error', (response: Record<string, unknown>) => resolve({ status: 'error', response }))
        .receive('timeout', () => resolve({ status: 'timeout', response: {} }));
    });
  }

  private receive(message: ChatMessage): void {
    this.seen.push(message.id);
    this.lastSeenId = Math.max(this.lastSeenId ?? 0, message.id);
    this.arrivals.changed();
  }

  /** Resolves once this member has seen `count` messages in all. */
  seenAtLeast(count: number, timeoutMs?: number): Promise<void> {
    return this.arrivals.until(() => this.seen.length >= count, `${this.name} seeing ${count} messages`, timeoutMs);
  }

  say(body: string): Promise<Reply> {
    return push(this.channel, 'new_msg', { body });
  }

  leave(): void {
    this.socket.disconnect();
  }
}

/** Prometheus text -> `name{labels}` -> value (HELP and TYPE lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}
