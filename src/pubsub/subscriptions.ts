import type { Pid } from '../../supervision/index.js';

/**
 * PubSub's table, pure: topic -> subscribers and subscriber -> topics. Most
 * topics have one subscriber (a user's `users_socket:<name>`, one tab) and most
 * subscribers one topic, so each side holds a single value until it has a
 * second: a Map per topic and a Set per subscriber cost ~400 bytes a session at
 * 19,000 sessions, for one entry each.
 */
export class Subscriptions {
  private readonly byTopic = new Map<string, Pid | Map<number, Pid>>();
  private readonly bySubscriber = new Map<number, string | Set<string>>();

  /** Subscribes `pid` to `topic` (again changes nothing). True when `pid` had no subscription before: PubSub monitors it then. */
  add(topic: string, pid: Pid): boolean {
    const current = this.byTopic.get(topic);
    if (current === undefined) this.byTopic.set(topic, pid);
    else if (current instanceof Map) current.set(pid.id, pid);
    else if (current.id !== pid.id) this.byTopic.set(topic, new Map([[current.id, current], [pid.id, pid]]));

    const topics = this.bySubscriber.get(pid.id);
    if (topics === undefined) this.bySubscriber.set(pid.id, topic);
    else if (topics instanceof Set) topics.add(topic);
    else if (topics !== topic) this.bySubscriber.set(pid.id, new Set([topics, topic]));
    return topics === undefined;
  }

  /** The subscriber stopped: all its subscriptions go. */
  removeSubscriber(pidId: number): void {
    const topics = this.bySubscriber.get(pidId);
    if (topics === undefined) return;
    this.bySubscriber.delete(pidId);
    for (const topic of typeof topics === 'string' ? [topics] : topics) this.removeFromTopic(topic, pidId);
  }

  /** Who is subscribed to `topic`, in subscription order (a live view: read it before changing the table). */
  subscribers(topic: string): Iterable<Pid> {
    const current = this.byTopic.get(topic);
    if (current === undefined) return [];
    return current instanceof Map ? current.values() : [current];
  }

  count(topic: string): number {
    const current = this.byTopic.get(topic);
    return current === undefined ? 0 : current instanceof Map ? current.size : 1;
  }

  private removeFromTopic(topic: string, pidId: number): void {
    const current = this.byTopic.get(topic);
    if (current === undefined) return;
    if (!(current instanceof Map)) {
      if (current.id === pidId) this.byTopic.delete(topic);
      return;
    }
    current.delete(pidId);
    // Back to a single value, as a topic that never had a second subscriber holds it.
    if (current.size === 1) for (const last of current.values()) this.byTopic.set(topic, last);
    if (current.size === 0) this.byTopic.delete(topic);
  }
}
