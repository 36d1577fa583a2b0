/**
 * Strict validators for the subtitle files the Sink writes: SubRip as commonly specified (sequential
 * numbering from 1, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, one or more non-empty text lines, one blank line
 * after each cue) and WebVTT per the W3C spec's file structure (the `WEBVTT` signature line, a blank
 * line, cues of an optional identifier, a `HH:MM:SS.mmm --> HH:MM:SS.mmm` timing line and non-empty
 * payload lines without `-->`, text escaped: no raw `<`, `&` only in character references). Both:
 * cue end after its start, cues in order and not overlapping. Returns the cues; throws on any problem,
 * naming the line.
 */
export interface ParsedCue {
  startMs: number;
  endMs: number;
  lines: string[];
}

const toMs = (h: string, m: string, s: string, ms: string) => ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(ms);

function cues(text: string, kind: 'srt' | 'vtt'): ParsedCue[] {
  if (text.charCodeAt(0) === 0xfeff) throw new Error('BOM');
  if (text.includes('\r')) throw new Error('CR characters (LF line ends expected)');
  const lines = text.split('\n');
  let i = 0;
  if (kind === 'vtt') {
    if (!/^WEBVTT([ \t].*)?$/.test(lines[0])) throw new Error(`line 1: expected the WEBVTT signature, got ${JSON.stringify(lines[0])}`);
    if (lines[1] !== '') throw new Error('line 2: expected a blank line after the signature');
    i = 2;
  }
  const time = kind === 'srt'
    ? /^(\d{2}):([0-5]\d):([0-5]\d),(\d{3}) --> (\d{2}):([0-5]\d):([0-5]\d),(\d{3})$/
    : /^(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3}) --> (\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})$/;
  const out: ParsedCue[] = [];
  let prevEnd = -1;
  while (i < lines.length) {
    if (lines[i] === '' && i === lines.length - 1) break; // the final newline
    const at = (k: number) => `line ${k + 1}`;
    if (kind === 'srt') {
      if (lines[i] !== String(out.length + 1)) throw new Error(`${at(i)}: expected cue number ${out.length + 1}, got ${JSON.stringify(lines[i])}`);
      i++;
    } else if (!time.test(lines[i] ?? '')) {
      if ((lines[i] ?? '').includes('-->') || !lines[i]) throw new Error(`${at(i)}: bad cue identifier ${JSON.stringify(lines[i])}`);
      i++;
    }
    const m = time.exec(lines[i] ?? '');
    if (!m) throw new Error(`${at(i)}: bad timing line ${JSON.stringify(lines[i])}`);
    const start = toMs(m[1], m[2], m[3], m[4]);
    const end = toMs(m[5], m[6], m[7], m[8]);
    if (!(end > start)) throw new Error(`${at(i)}: cue ends (${end} ms) before it starts (${start} ms)`);
    if (start < prevEnd) throw new Error(`${at(i)}: cue starts at ${start} ms, before the previous one ended (${prevEnd} ms)`);
    prevEnd = end;
    i++;
    const payload: string[] = [];
    while (i < lines.length && lines[i] !== '') {
      const l = lines[i];
      if (l.includes('-->')) throw new Error(`${at(i)}: '-->' in cue text`);
      if (kind === 'vtt' && (/</.test(l) || /&(?!(amp|lt|gt|nbsp|lrm|rlm);)/.test(l))) throw new Error(`${at(i)}: unescaped '<' or '&' in cue text`);
      if (!l.trim()) throw new Error(`${at(i)}: whitespace-only cue line`);
      payload.push(l);
      i++;
    }
    if (!payload.length) throw new Error(`${at(i)}: cue without text`);
    if (i >= lines.length) throw new Error('the last cue is not followed by a blank line');
    i++; // the blank line
    if (lines[i] === '' && i < lines.length - 1) throw new Error(`${at(i)}: more than one blank line between cues`);
    out.push({ startMs: start, endMs: end, lines: payload });
  }
  if (!text.endsWith('\n\n') && out.length) throw new Error('file does not end with a blank line');
  return out;
}

export const parseSrtStrict = (text: string) => cues(text, 'srt');
export const parseVttStrict = (text: string) => cues(text, 'vtt');
