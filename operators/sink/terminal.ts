/**
 * Text records on a terminal. Each record first clears the line the cursor is on (a partial shown in
 * place, or a status line another writer left there, such as a progress display), and a partial stays
 * on its line without a newline, cut to the terminal's width, so that the next record replaces it:
 * the partials of an utterance update one line, and its final takes that line over.
 */
import type { Output } from './output.js';

const CLEAR_LINE = '\r\x1b[K';

export function terminalWriter(out: Output, columns: () => number | undefined): (record: string, partial: boolean) => void {
  return (record, partial) => {
    if (!partial) return out.write(CLEAR_LINE + record);
    const line = record.replace(/\n$/, '');
    // A line wider than the terminal wraps, and '\r' would then only go back to its last row.
    // (A terminal that does not know its size reports 0 columns.)
    const cols = columns();
    const width = (cols && cols > 1 ? cols : 80) - 1;
    out.write(CLEAR_LINE + (line.length > width ? `${line.slice(0, width - 1)}…` : line));
  };
}
