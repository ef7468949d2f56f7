/** What the transport keeps of a joined channel; the Session's own channel record extends it. */
export interface Joined {
  readonly topic: string;
  readonly joinRef: string;
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * What one socket has joined, by topic: a short list, replaced on change. A
 * socket joins a few topics (MAX_CHANNELS at most), and a Map per socket was
 * ~180 bytes a session at 19,000 sessions for one or two entries.
 */
export class JoinedChannels<C extends Joined> {
  private list: readonly C[] = NONE;

  get size(): number {
    return this.list.length;
  }

  get(topic: string): C | undefined {
    return this.list.find((channel) => channel.topic === topic);
  }

  /** Adds `channel`, or puts it in the place of the one it replaces (same topic). */
  set(channel: C): void {
    const at = this.list.findIndex((other) => other.topic === channel.topic);
    this.list = at === -1 ? this.list.concat([channel]) : this.list.map((other, i) => (i === at ? channel : other));
  }

  delete(topic: string): void {
    const left = this.list.filter((channel) => channel.topic !== topic);
    this.list = left.length === 0 ? NONE : left;
  }

  clear(): void {
    this.list = NONE;
  }

  /** The channels in joining order; a snapshot, unaffected by later changes. */
  values(): readonly C[] {
    return this.list;
  }
}
