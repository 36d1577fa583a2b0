/**
 * Stream items: the tuples and punctuations that flow between operators.
 *
 * Like SPL, one Observable may carry many audio streams interleaved; every item names its stream.
 * Window punctuation (`punct`) ends one stream; completion of the Observable is final punctuation.
 */

/** A block of mono audio samples. */
export interface AudioItem {
  kind: 'audio';
  streamId: string;
  samples: Float32Array;
  sampleRate: number;
  /** Index of samples[0] within the stream. */
  startSample: number;
}

/**
 * Feature frames, time-major: frame t is `data[t*nFeatures .. (t+1)*nFeatures)`.
 * (DESIGN.md said feature-major; time-major makes appending across chunks a plain copy,
 * and OnnxSTT transposes while it fills the model's window buffer anyway.)
 */
export interface FeaturesItem {
  kind: 'features';
  streamId: string;
  data: Float32Array;
  nFeatures: number;
  nFrames: number;
  /** Index of the first frame within the stream. */
  startFrame: number;
  frameShiftMs: number;
}

/** Per-frame log-probabilities (frames x vocab, row-major), already log-softmaxed. */
export interface LogprobsItem {
  kind: 'logprobs';
  streamId: string;
  data: Float32Array;
  nFrames: number;
  vocabSize: number;
  startFrame: number;
  frameShiftMs: number;
  blankId: number;
}

export interface WordTiming {
  word: string;
  startMs: number;
  endMs: number;
  confidence: number;
}

export interface TranscriptItem {
  kind: 'transcript';
  streamId: string;
  text: string;
  isFinal: boolean;
  confidence: number;
  utteranceNumber: number;
  startMs: number;
  endMs: number;
  words?: WordTiming[];
}

/** Window punctuation: the stream `streamId` has ended. */
export interface PunctItem {
  kind: 'punct';
  streamId: string;
}

/** A stream failed; it ends here (a punct follows) while other streams go on. */
export interface ErrorItem {
  kind: 'error';
  streamId: string;
  operator: string;
  message: string;
}

/**
 * Utterance punctuation (VadSegmenter): an utterance of stream `streamId` starts or ends at
 * `sampleIndex` (in the stream's samples at `sampleRate`). In-band and in order: every operator that
 * re-times items (MelExtractor, OnnxSTT) forwards it after the items that cover the samples before
 * `sampleIndex`. Operators that do not consume it pass it through. Times are ms from the stream's start;
 * a `start` has `endMs === startMs`, an `end` carries the whole utterance's span.
 */
export interface UtteranceItem {
  kind: 'utterance';
  streamId: string;
  event: 'start' | 'end';
  /** 1, 2, ... per stream. */
  utteranceNumber: number;
  sampleIndex: number;
  sampleRate: number;
  startMs: number;
  endMs: number;
}

/**
 * Consistent-region marker (SPL consistent regions; the Chandy-Lamport barrier): a source places it
 * in-band after the items up to `position`; every stateful operator adds its state for `streamId` as it
 * stands once everything before the marker has gone through it, and passes the marker on. What reaches
 * the end of the graph is a snapshot of the whole pipeline for that stream, consistent with `position`.
 */
export interface CheckpointItem {
  kind: 'checkpoint';
  streamId: string;
  /** The source's position (opaque to the operators; a Redis stream entry id). */
  position: string;
  /** 1, 2, ... per stream. */
  seq: number;
  /** Node id -> that operator's serialised state (v8 serialisation; see runtime/snapshot.ts). */
  states: Record<string, Uint8Array>;
  /** Node ids of stateful operators that cannot snapshot (the checkpoint is then unusable). */
  unsupported?: string[];
}

/**
 * The counterpart of a checkpoint: before replaying a stream from a checkpoint's position, the source
 * sends this; each stateful operator replaces its state for `streamId` with the one stored under its
 * node id (or starts fresh when there is none) and passes it on.
 */
export interface RestoreItem {
  kind: 'restore';
  streamId: string;
  states: Record<string, Uint8Array>;
}

export type StreamItem = AudioItem | FeaturesItem | LogprobsItem | TranscriptItem | PunctItem | ErrorItem | UtteranceItem | CheckpointItem | RestoreItem;
export type ItemKind = StreamItem['kind'];
/** Kinds a node produces (what the graph loader checks between wired nodes); markers are not among them. */
export type DataKind = Exclude<ItemKind, 'punct' | 'error' | 'utterance' | 'checkpoint' | 'restore'>;
/** Kinds a stateful operator may consume (its data kinds, and utterance markers when it honours them). */
export type ConsumedKind = DataKind | 'utterance' | 'checkpoint';

export const DATA_KINDS: readonly DataKind[] = ['audio', 'features', 'logprobs', 'transcript'];

export function punct(streamId: string): PunctItem {
  return { kind: 'punct', streamId };
}

export function errorItem(streamId: string, operator: string, message: string): ErrorItem {
  return { kind: 'error', streamId, operator, message };
}

/** The error line as text shows it: "error: <file>: <message>" (the file named once). */
export function errorText(e: ErrorItem): string {
  const msg = e.message.replace(/[\r\n]+/g, ' ');
  return msg.startsWith(`${e.streamId}: `) ? `error: ${msg}\n` : `error: ${e.streamId}: ${msg}\n`;
}
