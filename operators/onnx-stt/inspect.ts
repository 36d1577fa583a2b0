/**
 * What a model is and how OnnxSTT would run it: the report behind `streamsx-stt inspect` (toolkit/cli/commands/inspect.ts).
 */
import { describeSession, detectContract, detectionProblems, type Detection, type ModelDescription } from './detect.js';
import { loadModel } from './session.js';
import { sileroContractProblems } from '../vad-segmenter/silero.js';

export interface InspectReport {
  path: string;
  producer?: string;
  irVersion?: number;
  opsets: Array<{ domain: string; version: number }>;
  inputs: ModelDescription['inputs'];
  outputs: ModelDescription['outputs'];
  metadata: Record<string, string>;
  contract: Detection['contract'];
  reason: string;
  verdict: string;
  streamable: boolean;
  input: Detection['input'];
  nFeatures?: number;
  windowSize?: number;
  chunkShift?: number;
  /** Cache-aware: the time axis of audio_signal is dynamic, so the last window is fed unpadded. */
  dynamicWindow?: boolean;
  subsampling?: number;
  cacheChannelDims?: number[];
  cacheTimeDims?: number[];
  vocabSize?: number;
  blankId?: number;
  normalizeType?: string;
  /** normalizeType is NeMo's default, assumed for want of normalize_type metadata. */
  normalizeAssumed?: boolean;
  problems: string[];
  /** Not a CTC model but one another operator runs (Silero VAD: VadSegmenter), with its contract. */
  otherContract?: { name: string; operator: string; description: string };
}

export async function inspectModelJson(path: string): Promise<InspectReport> {
  const loaded = await loadModel(path);
  const desc = describeSession(path, loaded.session, loaded.header);
  const d = detectContract(desc);
  const h = loaded.header;
  return {
    path,
    producer: [h.producerName, h.producerVersion].filter(Boolean).join(' ') || undefined,
    irVersion: h.irVersion,
    opsets: h.opsetVersions,
    inputs: desc.inputs,
    outputs: desc.outputs,
    metadata: desc.metadata,
    contract: d.contract,
    reason: d.reason,
    verdict: d.verdict,
    streamable: d.streamable,
    input: d.input,
    nFeatures: d.nFeatures,
    windowSize: d.windowSize,
    chunkShift: d.chunkShift,
    dynamicWindow: d.dynamicWindow,
    subsampling: d.subsampling,
    cacheChannelDims: d.cacheChannelDims,
    cacheTimeDims: d.cacheTimeDims,
    vocabSize: d.vocabSize,
    blankId: d.blankId,
    normalizeType: d.normalizeType,
    normalizeAssumed: d.normalizeAssumed,
    problems: d.contract ? detectionProblems(d, path) : [],
    otherContract:
      !d.contract && sileroContractProblems(loaded.session, path).length === 0
        ? {
            name: 'silero-vad',
            operator: 'VadSegmenter',
            description:
              'Silero VAD: input f32 [1, 64+512] (previous 64 samples + a 512-sample window at 16 kHz; 32+256 at 8 kHz), ' +
              'state f32 [2, 1, 128] (recurrent, per stream, zeros at start), sr i64 [] -> speech probability f32 [1, 1], next state [2, 1, 128]',
          }
        : undefined,
  };
}

const shape = (s: Array<number | string>) => `[${s.map((d) => (d === '' || Number.isNaN(d) ? '?' : d)).join(', ')}]`;

export function formatInspectReport(r: InspectReport): string {
  const L: string[] = [];
  L.push(`model      ${r.path}`);
  if (r.producer) L.push(`producer   ${r.producer}${r.irVersion ? ` (IR ${r.irVersion})` : ''}`);
  if (r.opsets.length) L.push(`opsets     ${r.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`);
  L.push('inputs');
  for (const t of r.inputs) L.push(`  ${t.name.padEnd(28)} ${t.type.padEnd(8)} ${shape(t.shape)}`);
  L.push('outputs');
  for (const t of r.outputs) L.push(`  ${t.name.padEnd(28)} ${t.type.padEnd(8)} ${shape(t.shape)}`);
  const keys = Object.keys(r.metadata).sort();
  L.push(keys.length ? 'metadata' : 'metadata   (none)');
  for (const k of keys) L.push(`  ${k.padEnd(28)} ${r.metadata[k]}`);
  L.push(`contract   ${r.contract ?? 'none'} (${r.reason})`);
  if (r.otherContract) L.push(`runs with  ${r.otherContract.operator}: contract ${r.otherContract.name}: ${r.otherContract.description}`);
  if (r.contract) {
    L.push(`input      ${r.input === 'audio' ? 'raw 16 kHz audio' : `${r.nFeatures} mel features per frame`}`);
    if (r.contract === 'nemo-cache-aware') {
      L.push(`window     ${r.windowSize ?? '?'} frames, shift ${r.chunkShift ?? '?'} frames`);
      L.push(
        r.dynamicWindow
          ? 'last       unpadded, its true length (dynamic time axis, as NeMo streams it)'
          : 'last       zero-padded to the window, given its true length (fixed time axis)',
      );
      L.push(`caches     cache_last_channel ${shape(['B', ...(r.cacheChannelDims ?? [])])}, cache_last_time ${shape(['B', ...(r.cacheTimeDims ?? [])])}`);
    }
    L.push(`subsample  ${r.subsampling ?? '? (measured at run time)'}${r.contract === 'wav2vec2' ? ' samples (20 ms frames)' : ''}`);
    L.push(`vocab      ${r.vocabSize ?? '?'} (blank ${r.blankId ?? '?'})`);
    if (r.normalizeType !== undefined) {
      L.push(`normalize  ${r.normalizeType || 'NA (none)'}${r.normalizeAssumed ? " (NeMo's default, assumed: the model has no normalize_type metadata)" : ''}`);
    }
  }
  L.push(`verdict    ${r.verdict}`);
  for (const p of r.problems) L.push(`problem    ${p}`);
  return L.join('\n') + '\n';
}

/** The human-readable report (the CLI prints it; `--json` prints `inspectModelJson` instead). */
export async function inspectModel(path: string): Promise<string> {
  return formatInspectReport(await inspectModelJson(path));
}
