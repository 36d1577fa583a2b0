/**
 * Sink: writes transcripts (and error records) as text, jsonl or csv to stdout or a file, one
 * record as each item arrives, and passes every item through unchanged so that the runner can observe
 * the end of each stream. Streams that reach the sink as audio/features/logprobs (a copy or reblock
 * graph) get one summary record at their punct.
 *
 * Records:
 * - jsonl: `{streamId, text, isFinal, confidence, utteranceNumber, startMs, endMs, words?}`;
 *   errors `{"kind":"error", streamId, operator, message}`; summaries `{"kind":"end", ...}`.
 * - csv: header `kind,streamId,text,isFinal,confidence,utteranceNumber,startMs,endMs`, RFC 4180
 *   quoting, CRLF line ends; errors are rows of kind `error` with the message in `text`.
 * - text: `<streamId> [start-end]: text`; errors `error: <file>: <message>` on stderr (and in the
 *   file when one is given).
 * `finalsOnly` defaults to true for text and false for jsonl/csv.
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
import { CSV_HEADER, errorRecord, errorText, summaryRecord, transcriptRecord, type SinkFormat, type StreamSummary } from './records.js';

export interface SinkParams {
  format: SinkFormat;
  file: string;
  finalsOnly?: boolean;
  append: boolean;
  fsync: boolean;
  streamSummaries: boolean;
}

export const Sink: StageSpec<SinkParams> = {
  kind: 'Sink',
  role: 'stage',
  description: 'Writes transcripts and error records (text, jsonl or csv) to stdout or a file as they arrive; passes every item on.',
  input: ['transcript', 'audio', 'features', 'logprobs'],
  output: 'transcript',
  params: {
    type: 'object',
    properties: {
      format: { enum: ['text', 'jsonl', 'csv'], default: 'text', description: 'Record format.' },
      file: { type: 'string', minLength: 1, default: '-', description: "'-' for stdout, else a path (folders are created)." },
      finalsOnly: { type: 'boolean', description: 'Write final transcripts only (default: true for text, false otherwise).' },
      append: { type: 'boolean', default: false, description: 'Append to the file instead of replacing it.' },
      fsync: { type: 'boolean', default: false, description: "fdatasync the file at each stream's end (survives power loss, not only crashes)." },
      streamSummaries: { type: 'boolean', default: true, description: 'One record per stream that reaches the sink as audio/features/logprobs.' },
    },
  },
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
  const finalsOnly = params.finalsOnly ?? params.format === 'text';
  const toStderr = params.format === 'text';
  return (source) =>
    new Observable<StreamItem>((dest) => {
      let out: Output;
      try {
        out = open();
        if (params.format === 'csv' && out.fresh) out.write(CSV_HEADER + '\r\n');
      } catch (e) {
        dest.error(new Error(`${ctx.nodeId}: cannot write ${params.file}: ${(e as Error).message}`));
        return;
      }
      const summaries = new Map<string, StreamSummary>();
      const writeSummary = (id: string) => {
        const s = summaries.get(id);
        summaries.delete(id);
        if (s && params.streamSummaries) out.write(summaryRecord(s, params.format));
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
            if (!finalsOnly || item.isFinal) out.write(transcriptRecord(item, params.format));
            break;
          case 'error':
            if (toStderr) process.stderr.write(errorText(item));
            if (!toStderr || params.file !== '-') out.write(errorRecord(item, params.format));
            break;
          case 'punct':
            writeSummary(item.streamId);
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
