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

export type StreamItem = AudioItem | FeaturesItem | LogprobsItem | TranscriptItem | PunctItem | ErrorItem;
export type ItemKind = StreamItem['kind'];
export type DataKind = Exclude<ItemKind, 'punct' | 'error'>;

export const DATA_KINDS: readonly DataKind[] = ['audio', 'features', 'logprobs', 'transcript'];

export function punct(streamId: string): PunctItem {
  return { kind: 'punct', streamId };
}

export function errorItem(streamId: string, operator: string, message: string): ErrorItem {
  return { kind: 'error', streamId, operator, message };
}
