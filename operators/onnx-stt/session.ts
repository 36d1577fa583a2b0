/**
 * One onnxruntime-node `InferenceSession` per model file + session options, shared by every stream and
 * every OnnxSTT instance in the process (sessions are thread-safe for `run`; weights are loaded once).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { readOnnxHeader, type OnnxHeader } from './onnx-proto.js';
import { WorkerSession } from './worker/worker-session.js';

export type ExecutionProvider = 'cpu' | 'cuda';
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

export interface SessionOptions {
  intraOpThreads: number;
  interOpThreads: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  executionProvider: ExecutionProvider;
  /** Run the model on a worker thread (worker/worker-session.ts) instead of the main thread. */
  worker: boolean;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = {
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  executionProvider: 'cpu',
  worker: false,
};

/** What the toolkit uses of a session: onnxruntime-node's own, or one on a worker thread. */
export type Session = Pick<ort.InferenceSession, 'run' | 'inputNames' | 'outputNames' | 'inputMetadata' | 'outputMetadata' | 'release'>;
export const Tensor = ort.Tensor;
export type Tensor = ort.Tensor;

/** A loaded model: the shared session plus what the file says about itself. */
export interface LoadedModel {
  path: string;
  session: Session;
  header: OnnxHeader;
}

const cache = new Map<string, Promise<LoadedModel>>();

export function supportedProviders(): string[] {
  try {
    return ort.listSupportedBackends().map((b) => b.name);
  } catch {
    return ['cpu'];
  }
}

function checkProvider(ep: ExecutionProvider): void {
  if (ep === 'cpu') return;
  const have = supportedProviders();
  if (!have.includes(ep)) {
    throw new Error(
      `executionProvider '${ep}' is not available in this onnxruntime-node build (it offers: ${have.join(', ')}); use executionProvider: cpu`,
    );
  }
  // Listed but not bundled: the provider library is downloaded at install time (skipped offline).
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
    const dir = join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
    const lib = join(dir, `libonnxruntime_providers_${ep}.so`);
    if (process.platform === 'linux' && existsSync(dir) && !existsSync(lib)) {
      throw new Error(
        `executionProvider '${ep}': this onnxruntime-node install has no ${lib} (its CUDA download was skipped, e.g. onnxruntime-node-install=skip); reinstall onnxruntime-node with its CUDA binaries or use executionProvider: cpu`,
      );
    }
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('executionProvider')) throw e;
  }
}

/** Loads (once) and returns the shared session for this model path and these options. */
export function loadModel(path: string, options: Partial<SessionOptions> = {}): Promise<LoadedModel> {
  const opts = { ...DEFAULT_SESSION_OPTIONS, ...options };
  const abs = resolve(path);
  const key = `${abs}\u0000${JSON.stringify(opts)}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      checkProvider(opts.executionProvider);
      const header = await readOnnxHeader(abs);
      let session: Session;
      try {
        const sessionOptions: ort.InferenceSession.SessionOptions = {
          intraOpNumThreads: opts.intraOpThreads,
          interOpNumThreads: opts.interOpThreads,
          graphOptimizationLevel: opts.graphOptimizationLevel,
          executionProviders: [opts.executionProvider],
        };
        session = opts.worker ? await WorkerSession.create(abs, sessionOptions) : await ort.InferenceSession.create(abs, sessionOptions);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        const hint =
          opts.executionProvider === 'cuda'
            ? ' (the CUDA execution provider needs onnxruntime-node installed with its CUDA binaries and a matching CUDA runtime; use executionProvider: cpu otherwise)'
            : '';
        throw new Error(`${path}: cannot create an ONNX Runtime session: ${msg}${hint}`);
      }
      return { path: abs, session, header };
    })();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Releases every cached session (tests, graceful shutdown). */
export async function releaseAllModels(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  for (const p of all) {
    try {
      await (await p).session.release();
    } catch {
      /* already failed or released */
    }
  }
}
