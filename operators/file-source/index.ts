/**
 * FileSource: reads audio files (WAV, FLAC, Ogg Vorbis/Opus, MP3; more via ffmpeg) as audio streams, one stream per file (streamId = the path as given).
 *
 * @example
 * ```ts
 * fileSource({ files: 'calls/*.wav', sampleRate: 16000 })
 *   .pipe(chunker({ chunkMs: 160 }), sink({ format: 'jsonl' }))
 *   .subscribe();
 * ```
 *
 * Every per-file problem (missing, unreadable, not a WAV, unsupported encoding, too long, ...) becomes
 * an error item `"<file>: <reason>"` followed by the file's punct; the other files go on. Each stream
 * ends with a punct; the Observable completes after the last file. Before each block the source
 * awaits `ctx.flow.ready()`, so slow stages bound memory. On `ctx.signal` abort, open files end with
 * their punct, no further file is started and the Observable completes.
 */
import { mergeMap, Observable, type OperatorFunction, type Subscriber } from 'rxjs';
import { errorItem, punct, type StreamItem } from '../../toolkit/items.js';
import { sourceFactory, type OperatorContext, type SourceSpec } from '../../toolkit/operator.js';
import { AUDIO_EXTENSIONS, RAW_EXTENSIONS, resolveFiles, type FileEntry } from './files.js';
import { readAudio } from './read-audio.js';
import { describeFsError } from './read-wav.js';
import { RAW_ENCODINGS, WavError, type RawFormat } from './wav-header.js';

export interface FileSourceParams {
  files: string | string[];
  sampleRate: number;
  channel: number | 'mix';
  blockMs: number;
  pace: number;
  maxDurationS: number;
  concurrency: number;
  raw?: RawFormat;
}

export const FileSource: SourceSpec<FileSourceParams> = {
  kind: 'FileSource',
  role: 'source',
  description:
    'Reads WAV files (PCM 8/16/24/32-bit, float 32/64, A-law, µ-law, WAVE_FORMAT_EXTENSIBLE, RF64), FLAC, Ogg Vorbis, Ogg Opus and MP3 (M4A/AAC, WebM and others through ffmpeg when installed) or raw PCM incrementally as audio streams, one per file, resampled to sampleRate.',
  output: 'audio',
  params: {
    type: 'object',
    properties: {
      files: {
        description: 'A path, a glob, a folder (its audio files: .wav, .flac, .ogg, .opus, .mp3, .m4a, ...; sorted, not descended) or a list of them.',
        anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1 }],
      },
      sampleRate: { type: 'integer', minimum: 1000, maximum: 768000, default: 16000, description: 'Output sample rate (Hz).' },
      channel: {
        description: "Channel index to read, or 'mix' for the mean of all channels.",
        anyOf: [{ type: 'integer', minimum: 0 }, { enum: ['mix'] }],
        default: 'mix',
      },
      blockMs: { type: 'number', exclusiveMinimum: 0, maximum: 60000, default: 100, description: 'Duration of each emitted audio block.' },
      pace: { type: 'number', minimum: 0, default: 0, description: '0 = as fast as possible, 1 = real time, 2 = twice real time.' },
      maxDurationS: { type: 'number', exclusiveMinimum: 0, default: 86400, description: 'Longer files are rejected with an error.' },
      concurrency: { type: 'integer', minimum: 1, maximum: 1024, default: 1, description: 'Files read at once (their items interleave).' },
      raw: {
        description: 'Format of headerless files (.raw/.pcm are then listed from folders too); files with a WAVE header are still read as WAV.',
        type: 'object',
        properties: {
          encoding: { enum: RAW_ENCODINGS },
          sampleRate: { type: 'integer', minimum: 1000, maximum: 768000 },
          channels: { type: 'integer', minimum: 1, maximum: 256, default: 1 },
        },
        required: ['encoding', 'sampleRate'],
        additionalProperties: false,
      },
    },
    required: ['files'],
  },
  readsFiles: async (params) => (await inputFiles(params)).filter((e) => !('problem' in e)).map((e) => e.path),
  create: (params, ctx) => readFiles(params, ctx),
};

/** The in-code form: `fileSource({files: 'a.wav'})` is an Observable of stream items. */
export const fileSource = sourceFactory(FileSource);

/**
 * The operator form for embedding: each path (or glob, folder, list) that arrives is read as above,
 * up to `concurrency` at once: `paths$.pipe(fileReader({ sampleRate: 16000 }), chunker(), ...)`.
 */
export function fileReader(
  params: Partial<Omit<FileSourceParams, 'files'>> = {},
  ctx: Partial<OperatorContext> = {},
): OperatorFunction<string | string[], StreamItem> {
  const concurrency = params.concurrency ?? 1;
  // Validate once up front so a bad param fails at construction, not at the first path.
  fileSource({ ...params, files: 'x' }, ctx);
  return (paths$) => paths$.pipe(mergeMap((files) => fileSource({ ...params, files, concurrency: 1 }, ctx), concurrency));
}

class Stopped extends Error {}

/** Resolves when the subscriber goes away or the run is aborted; waits race against it. */
interface Stop {
  readonly stopped: () => boolean;
  readonly promise: Promise<void>;
}

function makeStop(sub: Subscriber<StreamItem>, signal: AbortSignal | undefined): Stop & { fire(): void } {
  let fired = false;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  const fire = () => {
    if (fired) return;
    fired = true;
    signal?.removeEventListener('abort', fire);
    resolve();
  };
  if (signal?.aborted) fire();
  else signal?.addEventListener('abort', fire, { once: true });
  return { stopped: () => fired || sub.closed, promise, fire };
}

function sleep(ms: number, stop: Stop): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([new Promise<void>((r) => (timer = setTimeout(r, ms))), stop.promise]).finally(() => clearTimeout(timer));
}

function readFiles(params: FileSourceParams, ctx: OperatorContext): Observable<StreamItem> {
  return new Observable<StreamItem>((sub) => {
    const stop = makeStop(sub, ctx.signal);
    run(params, ctx, sub, stop).then(
      () => {
        stop.fire();
        if (!sub.closed) sub.complete();
      },
      (e) => {
        stop.fire();
        if (!sub.closed) sub.error(e);
      },
    );
    return () => stop.fire();
  });
}

async function run(params: FileSourceParams, ctx: OperatorContext, sub: Subscriber<StreamItem>, stop: Stop) {
  const resolved = await inputFiles(params);
  const seen = new Set<string>();
  const entries: FileEntry[] = [];
  for (const e of resolved) {
    if (seen.has(e.path)) {
      ctx.log.warn(`${e.path}: listed more than once; read once`);
      continue;
    }
    seen.add(e.path);
    entries.push(e);
  }
  let next = 0;
  const worker = async () => {
    while (next < entries.length && !stop.stopped()) await readOne(entries[next++]!, params, ctx, sub, stop);
  };
  await Promise.all(Array.from({ length: Math.min(params.concurrency, entries.length) }, worker));
}

async function readOne(entry: FileEntry, params: FileSourceParams, ctx: OperatorContext, sub: Subscriber<StreamItem>, stop: Stop) {
  const file = entry.path;
  const fail = (reason: string) => {
    if (!sub.closed) sub.next(errorItem(file, ctx.nodeId, `${file}: ${reason}`));
  };
  if ('problem' in entry) {
    fail(entry.problem);
    if (!sub.closed) sub.next(punct(file));
    return;
  }
  const t0 = performance.now();
  try {
    await readAudio(file, params, {
      warn: (m) => ctx.log.warn(`${file}: ${m}`),
      block: async (samples, startSample) => {
        await Promise.race([ctx.flow.ready(), stop.promise]);
        if (params.pace > 0) {
          const due = t0 + ((startSample + samples.length) / params.sampleRate / params.pace) * 1000;
          await sleep(due - performance.now(), stop);
        }
        if (stop.stopped()) throw new Stopped();
        sub.next({ kind: 'audio', streamId: file, samples, sampleRate: params.sampleRate, startSample });
        return true;
      },
    });
  } catch (e) {
    if (!(e instanceof Stopped)) fail(e instanceof WavError ? e.message : describeFsError(e));
  }
  if (!sub.closed) sub.next(punct(file));
}

/** The files the source will read, in order, as FileEntry (entries that name no file carry their problem). */
function inputFiles(params: FileSourceParams): Promise<FileEntry[]> {
  return resolveFiles(params.files, params.raw ? [...AUDIO_EXTENSIONS, ...RAW_EXTENSIONS] : AUDIO_EXTENSIONS);
}
