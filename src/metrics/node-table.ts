import type { Point } from './history.js';

/**
 * Each node's latest once-a-second sample (CLUSTER=1: they cross over PubSub),
 * and when it came; a node unheard from for `ttlMs` is gone from the table.
 * Pure: the time is passed in.
 */

export const NODE_TTL_MS = 10_000;

export interface NodeRow extends Point {
  readonly node: string;
  /** Milliseconds since this node's last sample came, by this node's clock. */
  readonly ageMs: number;
}

export class NodeTable {
  private readonly latest = new Map<string, { readonly point: Point; readonly heardAt: number }>();

  constructor(private readonly ttlMs = NODE_TTL_MS) {}

  heard(node: string, point: Point, now: number): void {
    this.latest.set(node, { point, heardAt: now });
  }

  /** Every node heard from within the TTL, by name. */
  rows(now: number): NodeRow[] {
    const rows: NodeRow[] = [];
    for (const [node, { point, heardAt }] of this.latest) {
      if (now - heardAt > this.ttlMs) this.latest.delete(node);
      else rows.push({ node, ...point, ageMs: now - heardAt });
    }
    return rows.sort((a, b) => a.node.localeCompare(b.node));
  }
}
