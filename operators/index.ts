import type { OperatorSpec } from '../toolkit/operator.js';
import { Chunker } from './chunker/index.js';
import { CtcDecoder } from './ctc-decoder/index.js';
import { FileSource } from './file-source/index.js';
import { MelExtractor } from './mel-extractor/index.js';
import { OnnxSTT } from './onnx-stt/index.js';
import { RedisAudioSource, RedisResultSink } from './redis/index.js';
import { Sink } from './sink/index.js';
import { StdinSource } from './stdin-source/index.js';
import { VadSegmenter } from './vad-segmenter/index.js';
import { WebSocketSink, WebSocketSource } from './websocket/index.js';

/** Every operator the toolkit ships; the graph loader, CLI and README table read this list. */
export const OPERATORS: OperatorSpec[] = [FileSource, Chunker, VadSegmenter, MelExtractor, OnnxSTT, CtcDecoder, Sink, StdinSource, WebSocketSource, WebSocketSink, RedisAudioSource, RedisResultSink];
