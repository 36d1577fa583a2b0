import type { Observable, OperatorFunction } from 'rxjs';
import type { DataKind, StreamItem } from './items.js';
import { FlowControl } from './runtime/flow.js';
import { validateParams } from './params.js';
import { resolveAsset } from './paths.js';

/** A JSON Schema object (validated with ajv); defaults live in the schema. */
export type ParamSchema = Record<string, unknown> & { type: 'object'; properties: Record<string, unknown> };

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  verbose(message: string): void;
}

/** What every operator instance gets besides its params. */
export interface OperatorContext {
  /** The node id in a graph, or the operator kind when used from code. */
  nodeId: string;
  log: Logger;
  /** Shared by every stage of one running graph: sources slow down while stages hold too much. */
  flow: FlowControl;
  /** Set by the runtime when the whole graph should stop reading (SIGINT). */
  signal?: AbortSignal;
}

/**
 * What a node will emit, as far as it is known before running. The loader passes it to the consumer's
 * `checkInput`, so that mismatches between wired nodes (a raw-audio model after a MelExtractor, 64 mel
 * bins into an 80-bin model, a tokens file that does not fit the model) are refused before anything runs.
 */
export interface OutputInfo {
  kind: DataKind;
  /** Who emits it, for messages: `mel (MelExtractor)`. */
  producer: string;
  /** features: mel bins per frame. */
  nFeatures?: number;
  /** logprobs: values per frame (the vocabulary with the blank). */
  vocabSize?: number;
}

interface SpecBase<P> {
  kind: string;
  description: string;
  params: ParamSchema;
  output: DataKind;
  /** Extra checks before anything runs (files exist, a model parses); each string is one problem. */
  check?: (params: P) => string[] | Promise<string[]>;
  /** Before running, after `check`: what this node's output will be (beyond its kind), if known. */
  describeOutput?: (params: P, input: OutputInfo | undefined) => Partial<Omit<OutputInfo, 'kind' | 'producer'>> | Promise<Partial<Omit<OutputInfo, 'kind' | 'producer'>>>;
  /** Before running, after `check`: problems with what the (single) upstream node will emit; each string is one. */
  checkInput?: (params: P, input: OutputInfo) => string[] | Promise<string[]>;
  /** Before running: what this node needs its (single) input to be, where it knows (a model's mel bins). */
  wants?: (params: P) => Partial<Omit<OutputInfo, 'kind' | 'producer'>> | Promise<Partial<Omit<OutputInfo, 'kind' | 'producer'>>>;
  /**
   * Before running: this node's params adapted to what its consumer `wants`, for what the user left
   * open (a MelExtractor without nMels takes the model's bin count); params given explicitly stay.
   */
  adaptTo?: (params: P, wants: Partial<Omit<OutputInfo, 'kind' | 'producer'>>) => P;
  /** Params that name files which must exist before the graph runs. */
  pathParams?: string[];
  /** The files this node will read, resolved as it will resolve them (globs, folders): no node may write one. */
  readsFiles?: (params: P) => Promise<string[]>;
  /** The files this node will write: the loader refuses a graph that writes a file it also reads. */
  writesFiles?: (params: P) => string[];
  /** Typing helper only: never read at run time. */
  readonly __params?: P;
}

export interface SourceSpec<P> extends SpecBase<P> {
  role: 'source';
  create: (params: P, ctx: OperatorContext) => Observable<StreamItem>;
}

export interface StageSpec<P> extends SpecBase<P> {
  role: 'stage';
  /** Item kinds this stage consumes; anything else passes through unchanged. */
  input: DataKind[];
  create: (params: P, ctx: OperatorContext) => OperatorFunction<StreamItem, StreamItem>;
}

export type OperatorSpec<P = any> = SourceSpec<P> | StageSpec<P>;

export const consoleLogger = (verbose = false): Logger => ({
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  verbose: (m) => {
    if (verbose) process.stderr.write(`${m}\n`);
  },
});

export function defaultContext(nodeId: string, overrides: Partial<OperatorContext> = {}): OperatorContext {
  return { nodeId, log: consoleLogger(false), flow: new FlowControl(), ...overrides };
}

/**
 * Params as the graph loader makes them: validated and defaulted by the spec's schema, and asset paths
 * (`pathParams`: model, tokens, lm) resolved the same way, against the working directory first, then the
 * toolkit's folder, so `onnxStt({ model: 'models/.../model.onnx' })` finds the bundled model from anywhere.
 */
function inCodeParams<P>(spec: OperatorSpec<P>, params: Partial<P>): P {
  const full = validateParams(spec, params, spec.kind) as Record<string, unknown>;
  for (const name of spec.pathParams ?? []) {
    const value = full[name];
    if (typeof value === 'string' && value !== '') full[name] = resolveAsset(value);
  }
  return full as P;
}

/**
 * The in-code form of a stage: `chunker({chunkMs: 160})`. Params are validated, defaulted and resolved
 * as in YAML (inCodeParams), so code and graphs can never disagree.
 */
export function stageFactory<P>(spec: StageSpec<P>) {
  return (params: Partial<P> = {}, ctx: Partial<OperatorContext> = {}): OperatorFunction<StreamItem, StreamItem> =>
    spec.create(inCodeParams(spec, params), defaultContext(spec.kind, ctx));
}

export function sourceFactory<P>(spec: SourceSpec<P>) {
  return (params: Partial<P> = {}, ctx: Partial<OperatorContext> = {}): Observable<StreamItem> =>
    spec.create(inCodeParams(spec, params), defaultContext(spec.kind, ctx));
}
