// Tables as the Thanos bucket tools print them: tablewriter with left/right borders,
// "|" junctions, centered headers and left-aligned cells; or CSV/TSV.

export interface Table {
  header: string[];
  lines: string[][];
}

export type TableFormat = 'table' | 'csv' | 'tsv';

export function renderTable(t: Table, format: TableFormat): string {
  switch (format) {
    case 'csv':
      return renderDelimited(t, ',');
    case 'tsv':
      return renderDelimited(t, '\t');
    default:
      return renderBordered(t);
  }
}

function renderBordered(t: Table): string {
  const widths = t.header.map((h, i) => Math.max(h.length, ...t.lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: string[], pad: (s: string, w: number) => string): string =>
    '|' + cells.map((c, i) => ` ${pad(c, widths[i])} |`).join('');
  const center = (s: string, w: number): string => {
    const gap = w - s.length;
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + s + ' '.repeat(gap - left);
  };
  const left = (s: string, w: number): string => s + ' '.repeat(w - s.length);
  const out = [row(t.header, center), '|' + widths.map((w) => '-'.repeat(w + 2) + '|').join('')];
  for (const l of t.lines) out.push(row(l, left));
  return out.join('\n') + '\n';
}

/** encoding/csv rules: quote fields holding the delimiter, quotes, CR/LF or leading space. */
function renderDelimited(t: Table, delim: string): string {
  const field = (s: string): string =>
    s.includes(delim) || s.includes('"') || s.includes('\n') || s.includes('\r') || s.startsWith(' ')
      ? `"${s.replace(/"/g, '""')}"`
      : s;
  return [t.header, ...t.lines].map((l) => l.map(field).join(delim)).join('\n') + '\n';
}

/** Formats an integer with thousands separators, as Go's message.Printer for English. */
export function formatCount(n: number | undefined): string {
  return (n ?? 0).toLocaleString('en-US', { useGrouping: true, maximumFractionDigits: 0 });
}
