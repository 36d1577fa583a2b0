/**
 * Subtitle cues from utterance-level final transcripts, written as SubRip (.srt) or WebVTT (.vtt).
 *
 * One utterance gives one cue, or several when its text does not fit: a cue holds at most `maxLines`
 * lines of at most `maxLineChars` characters (words are never broken; a single longer word gets a line
 * of its own) and at most `maxWords` words (0: no limit). A cue's times come from its words (CTC word
 * timings, else spread over the utterance by characters): the first cue starts at the utterance start,
 * the last ends at the utterance end, and each other cue lasts until the next one starts. Cues never go
 * back in time or overlap within one output, and always last at least 1 ms.
 *
 * SubRip: `n`, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, text lines, a blank line. WebVTT: a `WEBVTT` header, then
 * `HH:MM:SS.mmm --> HH:MM:SS.mmm`, text lines (with `&`, `<` and `>` escaped), a blank line.
 */
import type { TranscriptItem } from '../../toolkit/items.js';

export interface CueOptions {
  maxWords: number;
  maxLineChars: number;
  maxLines: number;
}

export interface Cue {
  startMs: number;
  endMs: number;
  lines: string[];
}

interface TimedWord {
  word: string;
  startMs: number;
  endMs: number;
}

/** The words of a final, with times clamped into its span (spread by characters when it has none). */
export function timedWords(t: TranscriptItem): TimedWord[] {
  const clean = (w: string) => w.replace(/[\r\n\t]+/g, ' ').trim();
  const clamp = (x: number) => Math.min(Math.max(x, t.startMs), t.endMs);
  if (t.words?.length) {
    return t.words.map((w) => ({ word: clean(w.word), startMs: clamp(w.startMs), endMs: clamp(w.endMs) })).filter((w) => w.word);
  }
  const words = clean(t.text).split(/\s+/).filter(Boolean);
  const chars = words.reduce((a, w) => a + w.length + 1, 0);
  const span = t.endMs - t.startMs;
  let at = 0;
  return words.map((w) => {
    const s = t.startMs + (span * at) / chars;
    at += w.length + 1;
    return { word: w, startMs: s, endMs: t.startMs + (span * (at - 1)) / chars };
  });
}

/** Splits one final into cues (see the module comment). */
export function cuesFor(t: TranscriptItem, o: CueOptions): Cue[] {
  const words = timedWords(t);
  if (!words.length) return [];
  const groups: Array<{ lines: string[]; first: TimedWord; count: number }> = [];
  let g: (typeof groups)[number] | undefined;
  for (const w of words) {
    const line = g?.lines[g.lines.length - 1];
    const fitsLine = line !== undefined && line.length + 1 + w.word.length <= o.maxLineChars;
    const fitsWords = !!g && (o.maxWords <= 0 || g.count < o.maxWords);
    if (g && fitsWords && fitsLine) {
      g.lines[g.lines.length - 1] = `${line} ${w.word}`;
    } else if (g && fitsWords && g.lines.length < o.maxLines) {
      g.lines.push(w.word);
    } else {
      g = { lines: [w.word], first: w, count: 0 };
      groups.push(g);
    }
    g.count++;
  }
  return groups.map((x, k) => ({
    startMs: k === 0 ? t.startMs : x.first.startMs,
    endMs: k === groups.length - 1 ? t.endMs : groups[k + 1].first.startMs,
    lines: x.lines,
  }));
}

/** `HH:MM:SS,mmm` (srt) or `HH:MM:SS.mmm` (vtt). */
export function timestamp(ms: number, sep: ',' | '.'): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3600000);
  const m = Math.floor(total / 60000) % 60;
  const s = Math.floor(total / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${sep}${pad(total % 1000, 3)}`;
}

const escapeVtt = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Numbers cues and keeps them in order within one output file. */
export class CueWriter {
  private n = 0;
  private lastEnd = 0;

  constructor(
    readonly format: 'srt' | 'vtt',
    private readonly o: CueOptions,
  ) {}

  header(): string {
    return this.format === 'vtt' ? 'WEBVTT\n\n' : '';
  }

  /** The cue blocks for one final transcript ('' when it has no words). */
  write(t: TranscriptItem): string {
    let out = '';
    for (const c of cuesFor(t, this.o)) {
      const start = Math.max(Math.round(c.startMs), this.lastEnd);
      const end = Math.max(Math.round(c.endMs), start + 1);
      this.lastEnd = end;
      this.n++;
      if (this.format === 'srt') {
        out += `${this.n}\n${timestamp(start, ',')} --> ${timestamp(end, ',')}\n${c.lines.join('\n')}\n\n`;
      } else {
        out += `${timestamp(start, '.')} --> ${timestamp(end, '.')}\n${c.lines.map(escapeVtt).join('\n')}\n\n`;
      }
    }
    return out;
  }
}
