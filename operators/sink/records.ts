/**
 * The Sink's record formats: one line per transcript (text, jsonl, csv), error records, and the
 * per-stream summary written for streams that reach the sink as audio/features/logprobs.
 */
import { errorText, type ErrorItem, type TranscriptItem } from '../../toolkit/items.js';

export { errorText };

/** Formats of one line (or row) per record. */
export type LineFormat = 'text' | 'jsonl' | 'csv';
export type SinkFormat = LineFormat | 'srt' | 'vtt' | 'stt-csv';

/** What the sink saw of a stream that carried no transcripts (a copy/reblock graph). */
export interface StreamSummary {
  streamId: string;
  kind: 'audio' | 'features' | 'logprobs';
  items: number;
  /** Samples (audio) or frames (features, logprobs). */
  units: number;
  durationMs: number;
}

export const CSV_HEADER = 'kind,streamId,text,isFinal,confidence,utteranceNumber,startMs,endMs';

/** RFC 4180: quote a field holding a comma, quote, CR or LF; double inner quotes. */
export function csvField(v: string | number | boolean | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csvRow = (fields: Array<string | number | boolean | undefined>) => fields.map(csvField).join(',') + '\r\n';

/**
 * stt-csv: one row per utterance result, mirroring the STT result schema of IBM streamsx.sttgateway's
 * WatsonSTT operator (`STTResult_t`: transcriptionCompleted, sttErrorMessage, finalizedUtterance,
 * utteranceNumber, confidence, utteranceStartTime, utteranceEndTime, utteranceText, conversationId),
 * times in seconds as there; `conversationId` is the stream id. At a stream's end a row with
 * transcriptionCompleted true; an error is a row with sttErrorMessage (and transcriptionCompleted true).
 */
export const STT_CSV_HEADER =
  'conversationId,utteranceNumber,utteranceText,finalizedUtterance,confidence,utteranceStartTime,utteranceEndTime,transcriptionCompleted,sttErrorMessage';

const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

export function sttCsvRecord(t: TranscriptItem): string {
  return csvRow([t.streamId, t.utteranceNumber, t.text, t.isFinal, Number(t.confidence.toFixed(4)), seconds(t.startMs), seconds(t.endMs), false, '']);
}

export function sttCsvCompleted(streamId: string): string {
  return csvRow([streamId, undefined, '', undefined, undefined, undefined, undefined, true, '']);
}

export function sttCsvError(e: ErrorItem): string {
  return csvRow([e.streamId, undefined, '', undefined, undefined, undefined, undefined, true, e.message]);
}

/** Seconds with two decimals, for the human-readable format. */
const secs = (ms: number) => (ms / 1000).toFixed(2);

/** The JSONL record of a transcript (also what the WebSocket server sends): the item without `kind`. */
export function transcriptObject(t: TranscriptItem): Record<string, unknown> {
  const rec: Record<string, unknown> = {
    streamId: t.streamId,
    text: t.text,
    isFinal: t.isFinal,
    confidence: t.confidence,
    utteranceNumber: t.utteranceNumber,
    startMs: t.startMs,
    endMs: t.endMs,
  };
  if (t.words) rec.words = t.words;
  return rec;
}

export function transcriptRecord(t: TranscriptItem, format: LineFormat): string {
  switch (format) {
    case 'jsonl':
      // `kind` first, as in every JSONL record, so a reader can dispatch on it (docs/output-formats.md).
      return JSON.stringify({ kind: 'transcript', ...transcriptObject(t) }) + '\n';
    case 'csv':
      return csvRow(['transcript', t.streamId, t.text, t.isFinal, t.confidence, t.utteranceNumber, t.startMs, t.endMs]);
    case 'text':
      return `${t.streamId} [${secs(t.startMs)}-${secs(t.endMs)}]${t.isFinal ? '' : ' (partial)'}: ${t.text}\n`;
  }
}

export function errorRecord(e: ErrorItem, format: LineFormat): string {
  switch (format) {
    case 'jsonl':
      return JSON.stringify({ kind: 'error', streamId: e.streamId, operator: e.operator, message: e.message }) + '\n';
    case 'csv':
      return csvRow(['error', e.streamId, e.message, undefined, undefined, undefined, undefined, undefined]);
    case 'text':
      return errorText(e);
  }
}

export function summaryRecord(s: StreamSummary, format: LineFormat): string {
  switch (format) {
    case 'jsonl':
      return JSON.stringify({ kind: 'end', streamId: s.streamId, itemKind: s.kind, items: s.items, [s.kind === 'audio' ? 'samples' : 'frames']: s.units, durationMs: s.durationMs }) + '\n';
    case 'csv':
      return csvRow(['end', s.streamId, `${s.items} ${s.kind} items, ${s.units} ${s.kind === 'audio' ? 'samples' : 'frames'}`, undefined, undefined, undefined, 0, s.durationMs]);
    case 'text':
      return `${s.streamId}: end of stream, ${s.items} ${s.kind} item(s), ${s.units} ${s.kind === 'audio' ? 'samples' : 'frames'}, ${secs(s.durationMs)} s\n`;
  }
}
