import type { SessionsReply, StatsReply, TreeNode } from './ctl-api.js';

/** Terminal output of the ctl: an indented tree as `tree` draws it, a sessions table, the nodes' stats. */

function label(node: TreeNode): string {
  const parts = [node.id, node.strategy === undefined ? node.kind : `${node.kind} ${node.strategy}`, `restarts ${node.restarts}`];
  if (node.childCount !== undefined) parts.push(`${node.childCount} ${node.childCount === 1 ? 'child' : 'children'}`);
  if (!node.alive) parts.push('DOWN');
  return parts.join('  ');
}

export function formatTree(root: TreeNode): string {
  const lines = [label(root)];
  const walk = (node: TreeNode, indent: string): void => {
    const children = node.children ?? [];
    const more = node.omitted ?? 0;
    children.forEach((child, i) => {
      const last = i === children.length - 1 && more === 0;
      lines.push(`${indent}${last ? '└── ' : '├── '}${label(child)}`);
      walk(child, `${indent}${last ? '    ' : '│   '}`);
    });
    if (more > 0) lines.push(`${indent}└── … ${more} more`);
  };
  walk(root, '');
  return lines.join('\n');
}

function age(since: string | null, now: number): string {
  if (since === null) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${s % 60}s` : `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

/** Columns padded to their widest cell, the last one left as it is. */
function table(header: readonly string[], rows: readonly string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function formatSessions(reply: SessionsReply, now = Date.now()): string {
  if (reply.count === 0) return 'no sessions';
  const rows = reply.sessions.map((s) => [s.id, s.user ?? '-', String(s.restarts), String(s.mailbox ?? '-'), age(s.since, now), s.topics.join(',') || '-']);
  const shown = reply.sessions.length < reply.count ? `\n(${reply.sessions.length} of ${reply.count} shown)` : '';
  return table(['ID', 'USER', 'RESTARTS', 'MAILBOX', 'AGE', 'TOPICS'], rows).join('\n') + `\n${reply.count} session${reply.count === 1 ? '' : 's'}` + shown;
}

/** Each node's latest once-a-second sample, then this node's core mailboxes and chaos. */
export function formatStats(reply: StatsReply, now = Date.now()): string {
  const rows = reply.nodes.map((n) => [
    n.node === reply.node ? `${n.node} *` : n.node,
    String(n.sockets),
    String(n.sessions),
    String(n.joins),
    String(n.messagesIn),
    String(n.messagesOut),
    String(n.restarts),
  ]);
  const lines = table(['NODE', 'SOCKETS', 'SESSIONS', 'JOINS/S', 'IN/S', 'OUT/S', 'RESTARTS/S'], rows);
  const depths = Object.entries(reply.mailboxes).map(([actor, depth]) => `${actor} ${depth ?? 'down'}`);
  lines.push('', `mailboxes on ${reply.node}: ${depths.join(', ')}`);
  const { chaos } = reply;
  lines.push(chaos.running && chaos.until !== null ? `chaos: killing ${chaos.rate}/s for ${Math.max(0, Math.round((chaos.until - now) / 1000))} s more, ${chaos.killed} killed` : 'chaos: off');
  return lines.join('\n');
}
