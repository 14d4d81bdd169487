// Reading kubectl's table output the way a person reads it: header, rows of cells, and the
// column layout kubectl's tabwriter makes (each column starts at the same offset on every line,
// at least three spaces after the widest cell of the column before).

export interface Table {
  header: string[];
  rows: string[][];
}

/** Splits a kubectl table into cells (columns found from the header) and checks its layout. */
export function parseTable(text: string): Table {
  const lines = text.replace(/\n$/, '').split('\n');
  const header = lines[0] ?? '';
  const starts = [0];
  const re = /\S {3,}(?=\S)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header))) starts.push(m.index + m[0].length);
  const cells = (line: string): string[] => starts.map((st, i) => line.slice(st, starts[i + 1]).trimEnd());
  for (const line of lines) {
    starts.forEach((st, i) => {
      const cell = line.slice(st, starts[i + 1]);
      // A cell starts exactly at its column and is separated from the one before.
      if ((cell !== '' && cell.trim() !== '' && cell[0] === ' ') || (i > 0 && line.length > st && line[st - 1] !== ' ')) {
        throw new Error(`column layout differs from the header's:\n${header}\n${line}`);
      }
    });
  }
  const all = lines.map(cells);
  // Each column is as wide as its widest cell plus three spaces (tabwriter padding 3, minimum 6).
  starts.slice(1).forEach((s, i) => {
    const widest = Math.max(...all.map((c) => c[i].length));
    if (s - starts[i] !== Math.max(widest + 3, 6)) throw new Error(`column ${i} is ${s - starts[i]} wide for cells up to ${widest}:\n${text}`);
  });
  return { header: all[0], rows: all.slice(1) };
}

/** kubectl's AGE cells for something made seconds ago. */
export const recentAge = /^\d+s$/;
