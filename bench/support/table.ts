/** The bench's figures side by side: measured, its baseline of the same run, their ratio, and the goal where there is one. */

export interface Row {
  readonly figure: string;
  /** The figure measured... */
  readonly chat: number | undefined;
  /** ...and its baseline (raw uWS, or one node for the two-node rows). */
  readonly raw: number | undefined;
  /** How to print the numbers. */
  readonly unit: 'int' | 'ms' | 'us' | 'kib';
  readonly goal?: { readonly text: string; readonly met: boolean | undefined };
}

const fmt = (value: number | undefined, unit: Row['unit']): string => {
  if (value === undefined || !Number.isFinite(value)) return 'n/a';
  switch (unit) {
    case 'int':
      return Math.round(value).toLocaleString('en-US');
    case 'ms':
      return value < 10 ? value.toFixed(2) : value.toFixed(1);
    case 'us':
    case 'kib':
      return value.toFixed(2);
  }
};

const ratio = (row: Row): string =>
  row.chat === undefined || row.raw === undefined || row.raw === 0 ? 'n/a' : `${(row.chat / row.raw).toFixed(2)}x`;

export function markdownTable(rows: readonly Row[], columns: readonly [string, string] = ['chat server', 'raw uWS']): string {
  const lines = [`| figure | ${columns[0]} | ${columns[1]} | ratio | goal |`, '|---|---:|---:|---:|---|'];
  for (const row of rows) {
    const goal = row.goal === undefined ? '' : `${row.goal.text}: ${row.goal.met === undefined ? 'n/a' : row.goal.met ? 'met' : '**missed**'}`;
    lines.push(`| ${row.figure} | ${fmt(row.chat, row.unit)} | ${fmt(row.raw, row.unit)} | ${ratio(row)} | ${goal} |`);
  }
  return lines.join('\n');
}
