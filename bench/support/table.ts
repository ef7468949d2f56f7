/** The bench's figures side by side: chat server, raw uWS, their ratio, and the goal where there is one. */

export interface Row {
  readonly figure: string;
  readonly chat: number | undefined;
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

export function markdownTable(rows: readonly Row[]): string {
  const lines = ['| figure | chat server | raw uWS | ratio | goal |', '|---|---:|---:|---:|---|'];
  for (const row of rows) {
    const goal = row.goal === undefined ? '' : `${row.goal.text}: ${row.goal.met === undefined ? 'n/a' : row.goal.met ? 'met' : '**missed**'}`;
    lines.push(`| ${row.figure} | ${fmt(row.chat, row.unit)} | ${fmt(row.raw, row.unit)} | ${ratio(row)} | ${goal} |`);
  }
  return lines.join('\n');
}
