/**
 * MelExtractor parameters: the JSON schema, the presets and the resolution of a preset plus explicit
 * overrides into one complete configuration.
 *
 * The knobs carry no schema defaults on purpose: a value given explicitly always overrides the preset,
 * and a value left out comes from the preset (`nemo-80` unless another preset is named).
 */
import type { ParamSchema } from '../../toolkit/operator.js';

export type WindowKind = 'hann-symmetric' | 'hann-periodic' | 'povey';
export type MelScale = 'slaney' | 'htk';
export type MelNorm = 'slaney' | 'none';
export type LogGuard = 'add' | 'clamp';
export type Normalize = 'none' | 'per_feature';
export type PresetName = 'nemo-80' | 'nemo-80-per-feature';

/** A complete feature configuration (what a preset defines and every param may override). */
export interface MelConfig {
  sampleRate: number;
  nMels: number;
  nFft: number;
  winLength: number;
  hopLength: number;
  window: WindowKind;
  /** Preemphasis coefficient; 0 turns it off. y[0] = x[0], y[n] = x[n] - a*x[n-1] over the whole stream. */
  preemphasis: number;
  fMin: number;
  fMax: number;
  melScale: MelScale;
  melNorm: MelNorm;
  logGuard: LogGuard;
  logGuardValue: number;
  normalize: Normalize;
  center: boolean;
}

export interface MelExtractorParams extends Partial<MelConfig> {
  preset?: PresetName;
}

/** NeMo `FilterbankFeatures` as the streaming FastConformer models use it (normalize: NA). */
const NEMO_80: MelConfig = {
  sampleRate: 16000,
  nMels: 80,
  nFft: 512,
  winLength: 400,
  hopLength: 160,
  window: 'hann-symmetric',
  preemphasis: 0.97,
  fMin: 0,
  fMax: 8000,
  melScale: 'slaney',
  melNorm: 'slaney',
  logGuard: 'add',
  logGuardValue: 2 ** -24,
  normalize: 'none',
  center: true,
};

export const PRESETS: Record<PresetName, MelConfig> = {
  'nemo-80': NEMO_80,
  /** Offline NeMo models: per-utterance, per-bin mean/std. Buffers the whole stream (not a streaming mode). */
  'nemo-80-per-feature': { ...NEMO_80, normalize: 'per_feature' },
};

export const FFT_SIZES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

export const MEL_PARAMS: ParamSchema = {
  type: 'object',
  properties: {
    preset: {
      enum: Object.keys(PRESETS),
      default: 'nemo-80',
      description:
        'Base configuration: nemo-80 (NeMo FilterbankFeatures, no normalisation, for streaming models) or ' +
        'nemo-80-per-feature (per-utterance per-bin mean/std: buffers the whole stream, emits at its end). ' +
        'Every other param overrides the preset.',
    },
    sampleRate: { type: 'integer', minimum: 1000, description: 'Expected audio sample rate in Hz (nemo: 16000); other rates are a per-stream error.' },
    nMels: { type: 'integer', minimum: 1, maximum: 512, description: 'Number of mel bins (nemo: 80).' },
    nFft: { enum: FFT_SIZES, description: 'FFT size, a power of two (nemo: 512).' },
    winLength: { type: 'integer', minimum: 2, description: 'Window length in samples, <= nFft, centred in the FFT frame (nemo: 400).' },
    hopLength: { type: 'integer', minimum: 1, description: 'Frame shift in samples (nemo: 160 = 10 ms).' },
    window: { enum: ['hann-symmetric', 'hann-periodic', 'povey'], description: 'Window function (nemo: hann-symmetric, torch.hann_window(periodic=False)).' },
    preemphasis: { type: 'number', minimum: 0, maximum: 1, description: 'Preemphasis coefficient, 0 = off (nemo: 0.97).' },
    fMin: { type: 'number', minimum: 0, description: 'Lowest filter edge in Hz (nemo: 0).' },
    fMax: { type: 'number', exclusiveMinimum: 0, description: 'Highest filter edge in Hz, <= sampleRate/2 (nemo: 8000).' },
    melScale: { enum: ['slaney', 'htk'], description: 'Mel scale (nemo: slaney).' },
    melNorm: { enum: ['slaney', 'none'], description: 'Filter normalisation (nemo: slaney, i.e. 2/(f_hi - f_lo)).' },
    logGuard: { enum: ['add', 'clamp'], description: 'ln(mel + v) or ln(max(mel, v)) (nemo: add).' },
    logGuardValue: { type: 'number', exclusiveMinimum: 0, description: 'The log guard value v (nemo: 2^-24).' },
    normalize: {
      enum: ['none', 'per_feature'],
      description: 'none (streaming) or per_feature: per-utterance per-bin mean and unbiased std (+1e-5); buffers the stream and emits at its end.',
    },
    center: { type: 'boolean', description: 'Centred STFT: nFft/2 zeros before and after the stream, floor(N/hop) frames (nemo: true).' },
  },
};

/** Cross-field problems of a resolved configuration, one string each. */
export function configProblems(c: MelConfig): string[] {
  const p: string[] = [];
  if (!FFT_SIZES.includes(c.nFft)) p.push(`nFft ${c.nFft} must be one of ${FFT_SIZES.join(', ')}`);
  if (c.winLength > c.nFft) p.push(`winLength ${c.winLength} must be <= nFft ${c.nFft}`);
  if (c.fMax > c.sampleRate / 2) p.push(`fMax ${c.fMax} must be <= sampleRate/2 (${c.sampleRate / 2})`);
  if (c.fMin >= c.fMax) p.push(`fMin ${c.fMin} must be < fMax ${c.fMax}`);
  if (!(c.logGuardValue > 0)) p.push(`logGuardValue must be > 0`);
  return p;
}

/** Preset values, then every explicitly given knob on top. */
export function resolveConfig(params: MelExtractorParams): MelConfig {
  const base = PRESETS[params.preset ?? 'nemo-80'];
  if (!base) throw new Error(`MelExtractor: unknown preset '${params.preset}'`);
  const out: MelConfig = { ...base };
  for (const key of Object.keys(base) as Array<keyof MelConfig>) {
    const v = params[key];
    if (v !== undefined) (out as unknown as Record<string, unknown>)[key] = v;
  }
  const problems = configProblems(out);
  if (problems.length) throw new Error(`MelExtractor: ${problems.join('; ')}`);
  return out;
}

/** Number of frames a stream of n samples yields (NeMo's get_seq_len for centred STFT). */
export function framesFor(c: MelConfig, n: number): number {
  if (c.center) return Math.floor(n / c.hopLength);
  return n >= c.nFft ? Math.floor((n - c.nFft) / c.hopLength) + 1 : 0;
}
