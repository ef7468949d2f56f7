/**
 * A first-in first-out queue: an array and the index of its head. `shift()` on
 * an array copies the rest of it at each take, which made 200,000 queued casts
 * 30x slower than bare nact; here what was taken is dropped in one slice once it
 * is most of the array.
 */
export class Fifo<T> {
  private items: Array<T | undefined>;
  private head = 0;

  /** Takes `items` as its own (oldest first). */
  constructor(items: T[] = []) {
    this.items = items;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, left in place; undefined when empty. */
  peek(): T | undefined {
    return this.length === 0 ? undefined : this.items[this.head];
  }

  /** The oldest item, taken out; undefined when empty. */
  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head += 1;
    if (this.head >= 1_024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}
