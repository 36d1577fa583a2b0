/** The public API: stream items, the operator model, graphs, and every shipped operator. */
export * from './items.js';
export { type OperatorSpec, type SourceSpec, type StageSpec, type OperatorContext, type Logger, stageFactory, sourceFactory, consoleLogger } from './operator.js';
export { perStream, type StreamHandler, type Emit } from './runtime/per-stream.js';
export { FlowControl } from './runtime/flow.js';
export { runPlan, type RunResult, type RunOptions } from './runtime/run.js';
export { loadGraph, loadGraphFile, type Plan, type PlanNode, type LoadOptions } from './graph/load.js';
export { buildGraph } from './graph/build.js';
export { GraphError, type GraphProblem } from './graph/errors.js';
export { resolveAsset, TOOLKIT_ROOT } from './paths.js';
export { OPERATORS } from '../operators/index.js';
export { FileSource, fileSource } from '../operators/file-source/index.js';
export { Chunker, chunker } from '../operators/chunker/index.js';
export { MelExtractor, melExtractor } from '../operators/mel-extractor/index.js';
export { OnnxSTT, onnxStt } from '../operators/onnx-stt/index.js';
export { CtcDecoder, ctcDecoder } from '../operators/ctc-decoder/index.js';
export { Sink, sink, sinkTo } from '../operators/sink/index.js';
export { VadSegmenter, vadSegmenter } from '../operators/vad-segmenter/index.js';
