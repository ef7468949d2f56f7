import type { Channel, Socket } from 'phoenix';
import { connect, join, push, type Reply } from './phoenix-client.js';
import { Changes } from './probe.js';

/**
 * A stock phoenix.js client in one room, recording every broadcast it gets in
 * order (new_msg, typing, msg_deleted, presence_summary), so a test can wait on what a user would
 * see arrive and check what did not.
 */

export interface Message {
  readonly id: number;
  readonly user: string;
  readonly body: string;
  readonly inserted_at: string;
}

export interface Seen {
  readonly event: string;
  readonly payload: Record<string, unknown>;
}

const EVENTS = ['new_msg', 'typing', 'msg_deleted', 'presence_summary'] as const;

export class RoomMember {
  readonly seen: Seen[] = [];
  readonly changes = new Changes();
  readonly channel: Channel;

  private constructor(
    readonly socket: Socket,
    readonly name: string,
    readonly room: string,
    token: string,
  ) {
    this.channel = socket.channel(`room:${room}`, { username: name, token });
    for (const event of EVENTS) {
      this.channel.on(event, (payload: Record<string, unknown>) => {
        this.seen.push({ event, payload });
        this.changes.changed();
      });
    }
  }

  /** Connects to `wsUrl` (phoenix.js appends /websocket) and joins; throws unless the join is ok. */
  static async join(wsUrl: string, name: string, room: string, token = `${name}-token-`.padEnd(24, 'x')): Promise<RoomMember> {
    const member = new RoomMember(connect(wsUrl), name, room, token);
    const joined = await join(member.channel);
    if (joined.status !== 'ok') throw new Error(`${name} could not join ${room}: ${JSON.stringify(joined)}`);
    return member;
  }

  push(event: string, payload: Record<string, unknown>): Promise<Reply> {
    return push(this.channel, event, payload);
  }

  /** Sends a message; resolves with its id. */
  async say(body: string): Promise<number> {
    const reply = await this.push('new_msg', { body });
    if (reply.status !== 'ok') throw new Error(`${this.name} could not send: ${JSON.stringify(reply)}`);
    return reply.response['id'] as number;
  }

  of(event: string): Seen[] {
    return this.seen.filter((seen) => seen.event === event);
  }

  /** Resolves once a broadcast matching `match` has come. */
  until(what: string, match: (seen: Seen) => boolean, timeoutMs?: number): Promise<void> {
    return this.changes.until(() => this.seen.some(match), `${this.name} seeing ${what}`, timeoutMs);
  }

  /** Resolves once this member has seen its room's new_msg with that id. */
  untilMessage(id: number, timeoutMs?: number): Promise<void> {
    return this.until(`message ${id}`, (seen) => seen.event === 'new_msg' && seen.payload['id'] === id, timeoutMs);
  }

  leave(): void {
    this.socket.disconnect();
  }
}
