import type { SessionsReply, TreeNode } from './ctl-api.js';

/** Terminal output of the ctl: an indented tree as `tree` draws it, and a sessions table. */

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

export function formatSessions(reply: SessionsReply, now = Date.now()): string {
  if (reply.count === 0) return 'no sessions';
  const rows = reply.sessions.map((s) => [s.id, s.user ?? '-', String(s.restarts), age(s.since, now), s.topics.join(',') || '-']);
  const header = ['ID', 'USER', 'RESTARTS', 'AGE', 'TOPICS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ');
  const shown = reply.sessions.length < reply.count ? `\n(${reply.sessions.length} of ${reply.count} shown)` : '';
  return [line(header), ...rows.map(line)].join('\n') + `\n${reply.count} session${reply.count === 1 ? '' : 's'}` + shown;
}
