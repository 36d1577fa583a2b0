/**
 * Sink: writes transcripts (and error records) as text, jsonl or csv to stdout or a file, one
 * record as each item arrives, and passes every item through unchanged so that the runner can observe
 * the end of each stream. Streams that reach the sink as audio/features/logprobs (a copy or reblock
 * graph) get one summary record at their punct.
 *
 * Records:
 * - jsonl: `{"kind":"transcript", streamId, text, isFinal, confidence, utteranceNumber, startMs, endMs, words?}`;
 *   errors `{"kind":"error", streamId, operator, message}`; summaries `{"kind":"end", ...}` (every record
 *   has `kind`; JSON Schema in docs/output-formats.schema.json).
 * - csv: header `kind,streamId,text,isFinal,confidence,utteranceNumber,startMs,endMs`, RFC 4180
 *   quoting, CRLF line ends; errors are rows of kind `error` with the message in `text`.
 * - text: `<streamId> [start-end]: text` (partials, with `textPartials`, marked `(partial)`; on a
 *   terminal they update one line in place, terminal.ts); errors `error: <file>: <message>` on stderr
 *   (and in the file when one is given).
 * - srt / vtt: subtitles, one cue per utterance (split by cueMaxWords, cueMaxLineChars, cueMaxLines;
 *   see subtitles.ts); finals only; errors go to stderr, never into the subtitle file. Meant for one
 *   stream per file (several streams are written one after the other, with a warning).
 * - stt-csv: utterance-level rows mirroring IBM streamsx.sttgateway's STT result schema (records.ts).
 * `finalsOnly` defaults to true for text (unless `textPartials`), srt, vtt and stt-csv, and false for jsonl/csv.
 *
 * @example
 * ```ts
 * source$.pipe(sink({ format: 'jsonl', file: 'out/results.jsonl' })).subscribe();
 * source$.pipe(sinkTo((record, item) => lines.push(record), { format: 'jsonl' })).subscribe();
 * ```
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { StreamItem } from '../../toolkit/items.js';
import { defaultContext, stageFactory, type OperatorContext, type StageSpec } from '../../toolkit/operator.js';
import { validateParams } from '../../toolkit/params.js';
import { callbackOutput, fileOutput, stdoutOutput, type Output } from './output.js';
import {
  CSV_HEADER,
  STT_CSV_HEADER,
  errorRecord,
  errorText,
  sttCsvCompleted,
  sttCsvError,
  sttCsvRecord,
  summaryRecord,
  transcriptRecord,
  type SinkFormat,
  type StreamSummary,
} from './records.js';
import { CueWriter } from './subtitles.js';
import { terminalWriter } from './terminal.js';

export interface SinkParams {
  format: SinkFormat;
  file: string;
  finalsOnly?: boolean;
  textPartials: boolean;
  append: boolean;
  fsync: boolean;
  streamSummaries: boolean;
  cueMaxWords: number;
  cueMaxLineChars: number;
  cueMaxLines: number;
}

export const Sink: StageSpec<SinkParams> = {
  kind: 'Sink',
  role: 'stage',
  description:
    'Writes transcripts and error records (text, jsonl, csv; srt/vtt subtitles; stt-csv utterance rows) to stdout or a file as they arrive; passes every item on.',
  input: ['transcript', 'audio', 'features', 'logprobs'],
  output: 'transcript',
  params: {
    type: 'object',
    properties: {
      format: { enum: ['text', 'jsonl', 'csv', 'srt', 'vtt', 'stt-csv'], default: 'text', description: 'Record format.' },
      file: { type: 'string', minLength: 1, default: '-', description: "'-' for stdout, else a path (folders are created)." },
      finalsOnly: { type: 'boolean', description: 'Write final transcripts only (default: true for text unless textPartials, false otherwise).' },
      textPartials: {
        type: 'boolean',
        default: false,
        description: 'text format: also write partial transcripts, marked (partial); on a terminal they update one line in place.',
      },
      append: { type: 'boolean', default: false, description: 'Append to the file instead of replacing it.' },
      fsync: { type: 'boolean', default: false, description: "fdatasync the file at each stream's end (survives power loss, not only crashes)." },
      streamSummaries: { type: 'boolean', default: true, description: 'One record per stream that reaches the sink as audio/features/logprobs (text, jsonl, csv).' },
      cueMaxWords: { type: 'integer', minimum: 0, default: 0, description: 'srt/vtt: most words per cue (0: no limit).' },
      cueMaxLineChars: { type: 'integer', minimum: 1, default: 42, description: 'srt/vtt: most characters per line.' },
      cueMaxLines: { type: 'integer', minimum: 1, default: 2, description: 'srt/vtt: most lines per cue.' },
    },
  },
  writesFiles: (params) => (params.file === '-' ? [] : [params.file]),
  create: (params, ctx) => sinkOperator(params, ctx, () => (params.file === '-' ? stdoutOutput() : fileOutput(params.file, params))),
};

/** The in-code form: `sink({format: 'jsonl', file: 'out.jsonl'})`. */
export const sink = stageFactory(Sink);

/**
 * The callback form for embedding: each formatted record goes to `onRecord` with the item it came
 * from (undefined for the csv header line).
 */
export function sinkTo(
  onRecord: (record: string, item: StreamItem | undefined) => void,
  params: Partial<Omit<SinkParams, 'file' | 'append' | 'fsync'>> = {},
  ctx: Partial<OperatorContext> = {},
): OperatorFunction<StreamItem, StreamItem> {
  const full = validateParams(Sink, params, Sink.kind) as unknown as SinkParams;
  let current: StreamItem | undefined;
  return sinkOperator(full, defaultContext(Sink.kind, ctx), () => callbackOutput((r) => onRecord(r, current)), (item) => {
    current = item;
  });
}

function sinkOperator(
  params: SinkParams,
  ctx: OperatorContext,
  open: () => Output,
  beforeItem?: (item: StreamItem) => void,
): OperatorFunction<StreamItem, StreamItem> {
  const format = params.format;
  const subtitles = format === 'srt' || format === 'vtt';
  const lines = format === 'text' || format === 'jsonl' || format === 'csv' ? format : undefined;
  const finalsOnly = subtitles || (params.finalsOnly ?? ((format === 'text' && !params.textPartials) || format === 'stt-csv'));
  const toStderr = format === 'text' || subtitles;
  return (source) =>
    new Observable<StreamItem>((dest) => {
      let out: Output;
      let writeText: ((record: string, partial: boolean) => void) | undefined;
      const cues = subtitles ? new CueWriter(format, { maxWords: params.cueMaxWords, maxLineChars: params.cueMaxLineChars, maxLines: params.cueMaxLines }) : undefined;
      const cueStreams = new Set<string>();
      /** stt-csv: streams whose error row already said transcriptionCompleted. */
      const failed = new Set<string>();
      try {
        out = open();
        if (format === 'text' && out.terminal) writeText = terminalWriter(out, () => process.stdout.columns);
        if (out.fresh) {
          if (format === 'csv') out.write(CSV_HEADER + '\r\n');
          if (format === 'stt-csv') out.write(STT_CSV_HEADER + '\r\n');
          if (cues) out.write(cues.header());
        }
      } catch (e) {
        dest.error(new Error(`${ctx.nodeId}: cannot write ${params.file}: ${(e as Error).message}`));
        return;
      }
      const summaries = new Map<string, StreamSummary>();
      const writeSummary = (id: string) => {
        const s = summaries.get(id);
        summaries.delete(id);
        if (s && params.streamSummaries && lines) out.write(summaryRecord(s, lines));
      };
      const count = (item: StreamItem) => {
        if (item.kind !== 'audio' && item.kind !== 'features' && item.kind !== 'logprobs') return;
        let s = summaries.get(item.streamId);
        if (!s) summaries.set(item.streamId, (s = { streamId: item.streamId, kind: item.kind, items: 0, units: 0, durationMs: 0 }));
        s.items++;
        if (item.kind === 'audio') {
          s.units = Math.max(s.units, item.startSample + item.samples.length);
          s.durationMs = (s.units / item.sampleRate) * 1000;
        } else {
          s.units = Math.max(s.units, item.startFrame + item.nFrames);
          s.durationMs = s.units * item.frameShiftMs;
        }
      };
      const handle = (item: StreamItem) => {
        beforeItem?.(item);
        switch (item.kind) {
          case 'transcript':
            if (finalsOnly && !item.isFinal) break;
            if (writeText) writeText(transcriptRecord(item, 'text'), !item.isFinal);
            else if (lines) out.write(transcriptRecord(item, lines));
            else if (format === 'stt-csv') out.write(sttCsvRecord(item));
            else if (cues) {
              const text = cues.write(item);
              if (text && !cueStreams.has(item.streamId)) {
                cueStreams.add(item.streamId);
                if (cueStreams.size === 2) ctx.log.warn(`${ctx.nodeId}: several streams in one ${format} file: their cues follow each other`);
              }
              out.write(text);
            }
            break;
          case 'error':
            if (toStderr) process.stderr.write(errorText(item));
            if (lines && (!toStderr || params.file !== '-')) out.write(errorRecord(item, lines));
            else if (format === 'stt-csv') {
              out.write(sttCsvError(item));
              failed.add(item.streamId);
            }
            break;
          case 'punct':
            writeSummary(item.streamId);
            if (format === 'stt-csv' && !failed.delete(item.streamId)) out.write(sttCsvCompleted(item.streamId));
            out.sync();
            break;
          default:
            count(item);
        }
      };
      const sub = source.subscribe({
        next: (item) => {
          try {
            handle(item);
          } catch (e) {
            dest.error(new Error(`${ctx.nodeId}: cannot write ${params.file}: ${(e as Error).message}`));
            return;
          }
          dest.next(item);
        },
        error: (e) => {
          out.close();
          dest.error(e);
        },
        complete: () => {
          try {
            for (const id of [...summaries.keys()]) writeSummary(id);
            out.sync();
            out.close();
          } catch (e) {
            dest.error(e);
            return;
          }
          dest.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        out.close();
      };
    });
}
