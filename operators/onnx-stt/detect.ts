/**
 * Contract detection, in one place: which of the model contracts a model speaks, from its input/output
 * names, shapes and metadata (the keys sherpa-onnx exports use), overridable by params.
 */
import type { InferenceSession } from 'onnxruntime-node';
import type { ContractName } from './contract.js';
import type { OnnxHeader } from './onnx-proto.js';

export interface TensorInfo {
  name: string;
  type: string;
  shape: Array<number | string>;
}

export interface ModelDescription {
  path: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  metadata: Record<string, string>;
  header: OnnxHeader;
}

export interface DetectOverrides {
  contract?: ContractName | 'auto';
  windowSize?: number;
  chunkShift?: number;
  subsampling?: number;
  blankId?: number;
  /** Cache-aware exports that leave cache sizes symbolic (NeMo's own export): att_context_size[0]. */
  lastChannelCacheSize?: number;
  /** ... and conv_kernel_size - 1. */
  lastTimeCacheSize?: number;
}

export interface Detection {
  /** null: not one of the CTC contracts (for example a VAD or an encoder-decoder model). */
  contract: ContractName | null;
  /** One line on why this contract was picked. */
  reason: string;
  /** What a user needs to know: "cache-aware streaming CTC", "offline CTC: cannot be streamed chunk by chunk". */
  verdict: string;
  overridden: boolean;
  input: 'features' | 'audio';
  streamable: boolean;
  nFeatures?: number;
  /** Model output width (incl. blank); undefined when the model leaves it symbolic and metadata is silent. */
  vocabSize?: number;
  blankId?: number;
  subsampling?: number;
  windowSize?: number;
  chunkShift?: number;
  /** [layers, frames, dModel] and [layers, dModel, kernel-1], batch excluded. */
  cacheChannelDims?: number[];
  cacheTimeDims?: number[];
  normalizeType?: string;
  /** normalizeType is NeMo's default (per_feature), taken because the model has no normalize_type metadata. */
  normalizeAssumed?: boolean;
  /**
   * Cache-aware: the audio_signal time axis is symbolic (every export NeMo itself writes), so the last
   * window is fed as NeMo's streaming buffer cuts it, unpadded with its true length; false when the axis
   * is fixed (sherpa-onnx-style exports with a fixed window): the last window is zero-padded to it.
   */
  dynamicWindow?: boolean;
  /** Cache-aware: metadata `first_window` ("prepend N zero frames" / "first-frame"), if any. */
  firstWindow?: string;
  names: {
    signal: string;
    length?: string;
    logprobs: string;
    encodedLengths?: string;
    cacheChannel?: string;
    cacheTime?: string;
    cacheChannelLen?: string;
    cacheChannelNext?: string;
    cacheTimeNext?: string;
    cacheChannelLenNext?: string;
    /** wav2vec2 exports with an attention mask input (fed with ones). */
    attentionMask?: string;
  };
}

export function describeSession(path: string, session: Pick<InferenceSession, 'inputMetadata' | 'outputMetadata'>, header: OnnxHeader): ModelDescription {
  const info = (m: InferenceSession.ValueMetadata): TensorInfo =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] };
  return {
    path,
    inputs: session.inputMetadata.map(info),
    outputs: session.outputMetadata.map(info),
    metadata: header.metadata,
    header,
  };
}

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
};

const dim = (t: TensorInfo | undefined, i: number): number | undefined => {
  const d = t?.shape[i];
  return typeof d === 'number' && d > 0 ? d : undefined;
};

export function detectContract(m: ModelDescription, o: DetectOverrides = {}): Detection {
  const inp = new Map(m.inputs.map((t) => [t.name, t]));
  const out = new Map(m.outputs.map((t) => [t.name, t]));
  const md = m.metadata;
  const cacheInputs = ['cache_last_channel', 'cache_last_time', 'cache_last_channel_len'].filter((n) => inp.has(n));
  // NeMo names encoder states `outputs` ([batch, d_model, time]; sherpa-onnx's transducer encoder.onnx keeps
  // the name, or says encoder_out): never log-probs, so never taken for them.
  const encoderOut = m.outputs.find((t) => t.name === 'outputs' || t.name === 'encoder_out');
  const logprobsOut =
    m.outputs.find((t) => t.name === 'logprobs') ??
    m.outputs.find((t) => t.name === 'logits') ??
    m.outputs.find((t) => t.shape.length === 3 && t.type === 'float32' && t !== encoderOut);

  let detected: ContractName | null = null;
  let reason: string;
  if (inp.has('audio_signal') && encoderOut && !logprobsOut) {
    detected = null;
    reason = `output ${encoderOut.name} ${JSON.stringify(encoderOut.shape)} holds encoder states, and there is no logprobs output`;
  } else if (inp.has('audio_signal') && cacheInputs.length === 3) {
    detected = 'nemo-cache-aware';
    reason = `inputs audio_signal, length and cache_last_channel/cache_last_time/cache_last_channel_len`;
  } else if (inp.has('audio_signal') && cacheInputs.length > 0) {
    detected = null;
    reason = `has ${cacheInputs.join(', ')} but not all three NeMo cache inputs`;
  } else if (inp.has('audio_signal') && logprobsOut) {
    detected = 'nemo-offline';
    reason = `inputs ${m.inputs.map((t) => t.name).join(', ')} (mel features, no cache inputs)`;
  } else if ((inp.has('input_values') || (m.inputs.length === 1 && m.inputs[0].shape.length === 2)) && logprobsOut) {
    detected = 'wav2vec2';
    const sig = inp.get('input_values') ?? m.inputs[0];
    reason = `input ${sig.name} [batch, samples] (raw audio)${inp.has('attention_mask') ? ' + attention_mask' : ''} -> ${logprobsOut.name} [batch, frames, vocab]`;
  } else {
    reason = `inputs ${m.inputs.map((t) => `${t.name}${JSON.stringify(t.shape)}`).join(', ')} match no CTC contract`;
  }

  let contract = detected;
  let overridden = false;
  if (o.contract && o.contract !== 'auto' && o.contract !== detected) {
    contract = o.contract;
    overridden = true;
    reason = `forced by param contract=${o.contract} (detection said ${detected ?? 'none'}: ${reason})`;
  }

  const names: Detection['names'] = { signal: '', logprobs: logprobsOut?.name ?? '' };
  const d: Detection = {
    contract,
    reason,
    verdict: '',
    overridden,
    input: contract === 'wav2vec2' ? 'audio' : 'features',
    streamable: contract === 'nemo-cache-aware',
    names,
  };
  const lp = logprobsOut;
  d.vocabSize = dim(lp, 2) ?? num(md.vocab_size);
  d.normalizeType = md.normalize_type;
  if (contract === 'nemo-offline' && md.normalize_type === undefined) {
    // NeMo's own export writes no metadata, and its FilterbankFeatures default (what nearly every offline
    // NeMo CTC model trained with) is per_feature; sherpa-onnx exports always say which.
    d.normalizeType = 'per_feature';
    d.normalizeAssumed = true;
  }
  d.firstWindow = md.first_window;

  if (contract === 'nemo-cache-aware' || contract === 'nemo-offline') {
    const sig = inp.get('audio_signal') ?? m.inputs[0];
    names.signal = sig.name;
    names.length = inp.has('length') ? 'length' : m.inputs.find((t) => t.type === 'int64')?.name;
    names.encodedLengths = out.has('encoded_lengths')
      ? 'encoded_lengths'
      : m.outputs.find((t) => t.type === 'int64' && t.shape.length === 1 && !t.name.startsWith('cache'))?.name;
    d.nFeatures = dim(sig, 1) ?? num(md.feat_dim) ?? 80;
    d.subsampling = o.subsampling ?? num(md.subsampling_factor);
    // Blank = last output id. (Metadata vocab_size is written with or without the blank by different
    // exporters, so the output width wins; a symbolic width is learnt from the first run.)
    d.blankId = o.blankId ?? (dim(lp, 2) !== undefined ? dim(lp, 2)! - 1 : undefined);
    if (dim(lp, 2) === undefined) d.vocabSize = undefined;
  }
  if (contract === 'nemo-cache-aware') {
    names.cacheChannel = 'cache_last_channel';
    names.cacheTime = 'cache_last_time';
    names.cacheChannelLen = 'cache_last_channel_len';
    names.cacheChannelNext = out.has('cache_last_channel_next') ? 'cache_last_channel_next' : undefined;
    names.cacheTimeNext = out.has('cache_last_time_next') ? 'cache_last_time_next' : undefined;
    names.cacheChannelLenNext = out.has('cache_last_channel_next_len') ? 'cache_last_channel_next_len' : undefined;
    const cc = inp.get('cache_last_channel');
    const ct = inp.get('cache_last_time');
    const dims = (t: TensorInfo | undefined, key: string) =>
      [1, 2, 3].map((i) => dim(t, i) ?? num(md[`${key}_dim${i}`]) ?? NaN);
    d.cacheChannelDims = dims(cc, 'cache_last_channel');
    d.cacheTimeDims = dims(ct, 'cache_last_time');
    // [layers, frames, dModel] and [layers, dModel, frames]: the frames are what NeMo leaves symbolic.
    if (o.lastChannelCacheSize !== undefined) d.cacheChannelDims[1] = o.lastChannelCacheSize;
    if (o.lastTimeCacheSize !== undefined) d.cacheTimeDims[2] = o.lastTimeCacheSize;
    d.windowSize = o.windowSize ?? num(md.window_size) ?? dim(inp.get('audio_signal'), 2);
    d.dynamicWindow = dim(inp.get(names.signal), 2) === undefined;
    d.chunkShift = o.chunkShift ?? num(md.chunk_shift);
    if (d.chunkShift === undefined && d.windowSize !== undefined && d.subsampling && dim(lp, 1)) {
      d.chunkShift = dim(lp, 1)! * d.subsampling;
    }
  }
  if (contract === 'wav2vec2') {
    names.signal = inp.has('input_values') ? 'input_values' : m.inputs[0].name;
    names.attentionMask = inp.has('attention_mask') ? 'attention_mask' : undefined;
    d.blankId = o.blankId ?? 0;
    d.subsampling = 320;
  }

  switch (contract) {
    case 'nemo-cache-aware':
      d.verdict = `cache-aware streaming CTC (NeMo contract): streamed window by window, caches fed back`;
      break;
    case 'nemo-offline':
      d.verdict =
        'offline CTC: cannot be streamed chunk by chunk (no cache inputs); run whole utterances (mode offline) or overlapping windows (mode buffered)';
      break;
    case 'wav2vec2':
      d.verdict =
        'wav2vec2-style CTC on raw audio: offline; run whole utterances (mode offline) or overlapping windows (mode buffered)';
      break;
    default: {
      if (encoderOut && inp.has('audio_signal') && !logprobsOut) {
        d.verdict =
          `an encoder-only export, not a CTC model: output ${encoderOut.name} [batch, d_model, time] holds encoder states (NeMo's default export of an RNNT/TDT or hybrid model, or a transducer encoder.onnx). ` +
          `For a hybrid RNNT/TDT-CTC model, export its CTC head: model.set_export_config({'decoder_type': 'ctc'}) before model.export() (docs/models.md); a pure RNNT/TDT model has no CTC head to run`;
        break;
      }
      const vadLike = inp.has('state') && out.has('stateN') && m.inputs.some((t) => t.name === 'input');
      d.verdict = vadLike
        ? `not a CTC speech recognition model OnnxSTT can run: it looks like a voice activity detector (Silero VAD: input, state${inp.has('sr') ? ', sr' : ''} -> output, stateN)`
        : `not a CTC speech recognition model OnnxSTT can run (${reason})`;
    }
  }
  return d;
}

/** The problems that make a detected model unusable, before anything runs. */
export function detectionProblems(d: Detection, path: string): string[] {
  const p: string[] = [];
  if (!d.contract) return [`${path}: ${d.verdict}`];
  if (!d.names.logprobs) p.push(`${path}: no [batch, frames, vocab] float output found`);
  if (d.contract === 'nemo-cache-aware') {
    if (d.windowSize === undefined || d.chunkShift === undefined) {
      p.push(
        `${path}: cache-aware model without window_size/chunk_shift metadata: set the OnnxSTT params windowSize and chunkShift ` +
          `(mel frames, from the encoder's streaming_cfg: windowSize = chunk_size + pre_encode_cache_size, chunkShift = chunk_size; docs/models.md)`,
      );
    } else if (!(d.chunkShift > 0 && d.chunkShift <= d.windowSize)) {
      p.push(`${path}: chunk_shift ${d.chunkShift} must be in 1..window_size (${d.windowSize})`);
    }
    const [layers, channelFrames, dModel] = d.cacheChannelDims ?? [];
    const [timeLayers, timeDModel, timeFrames] = d.cacheTimeDims ?? [];
    const missing: string[] = [];
    if (!Number.isFinite(channelFrames)) missing.push("lastChannelCacheSize (the encoder's att_context_size[0])");
    if (!Number.isFinite(timeFrames)) missing.push('lastTimeCacheSize (the encoder\'s conv_kernel_size - 1)');
    if (missing.length) {
      p.push(
        `${path}: the cache sizes are symbolic and there is no cache_last_*_dim metadata (a model exported straight from NeMo): set the OnnxSTT params ${missing.join(' and ')}, from the model config (model.cfg.encoder; docs/models.md)`,
      );
    }
    if (![layers, dModel, timeLayers, timeDModel].every(Number.isFinite)) {
      p.push(`${path}: the cache layer count or model width is symbolic and the cache_last_*_dim1..3 metadata is missing`);
    }
    if (!d.names.cacheChannelNext || !d.names.cacheTimeNext) {
      p.push(`${path}: cache-aware inputs but no cache_last_channel_next/cache_last_time_next outputs to feed back`);
    }
  }
  return p;
}
