/**
 * StdinSource: raw PCM from standard input as one audio stream.
 *
 * @example
 * ```sh
 * arecord -q -f S16_LE -r 16000 -c 1 -t raw | npx streamsx-stt run graphs/stdin.yaml
 * sox call.wav -t raw -e float -b 32 -r 8000 - | npx streamsx-stt run graphs/stdin.yaml --param encoding=f32le --param sampleRate=8000
 * ```
 * ```ts
 * pcmSource(someReadable, { encoding: 's16le', sampleRate: 16000 }).pipe(chunker(), ...)
 * ```
 * Samples (s16le or f32le, interleaved when `channels` > 1, channels averaged) are resampled to
 * `outputRate` and emitted in blocks of `blockMs`; the stream ends (punct, then completion) at end of
 * input or when the run is aborted (SIGINT). Reading pauses while stages hold too many items.
 */
import { Observable } from 'rxjs';
import type { Readable } from 'node:stream';
import { errorItem, punct, type StreamItem } from '../../toolkit/items.js';
import { defaultContext, type OperatorContext, type SourceSpec } from '../../toolkit/operator.js';
import { validateParams } from '../../toolkit/params.js';
import { PcmStream, type PcmEncoding } from './pcm.js';

export interface StdinSourceParams {
  encoding: PcmEncoding;
  sampleRate: number;
  channels: number;
  outputRate: number;
  blockMs: number;
  streamId: string;
}

export const StdinSource: SourceSpec<StdinSourceParams> = {
  kind: 'StdinSource',
  role: 'source',
  description: 'Reads raw PCM (s16le or f32le, any rate, interleaved channels) from standard input as one audio stream, resampled to outputRate.',
  output: 'audio',
  params: {
    type: 'object',
    properties: {
      encoding: { enum: ['s16le', 'f32le'], default: 's16le', description: 'Sample format: signed 16-bit or 32-bit float, little-endian.' },
      sampleRate: { type: 'integer', minimum: 1000, maximum: 768000, default: 16000, description: 'Sample rate of the input (Hz).' },
      channels: { type: 'integer', minimum: 1, maximum: 64, default: 1, description: 'Interleaved input channels (averaged to mono).' },
      outputRate: { type: 'integer', minimum: 1000, maximum: 768000, default: 16000, description: 'Sample rate of the emitted audio (Hz).' },
      blockMs: { type: 'number', exclusiveMinimum: 0, maximum: 60000, default: 100, description: 'Duration of each emitted audio block.' },
      streamId: { type: 'string', minLength: 1, default: 'stdin', description: 'streamId of the one stream.' },
    },
  },
  create: (params, ctx) => readPcm(process.stdin, params, ctx),
};

/** Reads raw PCM from any Readable (standard input in graphs) as one stream. */
export function readPcm(input: Readable, params: StdinSourceParams, ctx: OperatorContext): Observable<StreamItem> {
  return new Observable<StreamItem>((dest) => {
    const id = params.streamId;
    const pcm = new PcmStream({
      encoding: params.encoding,
      sampleRate: params.sampleRate,
      channels: params.channels,
      outputRate: params.outputRate,
      blockSamples: Math.max(1, Math.round((params.blockMs * params.outputRate) / 1000)),
    });
    let startSample = 0;
    let done = false;
    const emit = (blocks: Float32Array[]) => {
      for (const samples of blocks) {
        dest.next({ kind: 'audio', streamId: id, samples, sampleRate: params.outputRate, startSample });
        startSample += samples.length;
      }
    };
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      detach();
      if (error) dest.next(errorItem(id, ctx.nodeId, error));
      else {
        emit(pcm.end());
        if (pcm.pendingBytes) ctx.log.warn(`${ctx.nodeId}: input ended inside a sample; ${pcm.pendingBytes} byte(s) dropped`);
      }
      dest.next(punct(id));
      dest.complete();
    };
    const onData = (chunk: Buffer) => {
      if (done) return;
      emit(pcm.push(chunk));
      if (ctx.flow.pending >= ctx.flow.highWater) {
        input.pause();
        ctx.flow.ready().then(() => {
          if (!done) input.resume();
        });
      }
    };
    const onEnd = () => finish();
    const onError = (e: Error) => finish(`standard input: ${e.message}`);
    const onAbort = () => finish();
    const detach = () => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      ctx.signal?.removeEventListener('abort', onAbort);
      input.pause();
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    if (ctx.signal?.aborted) finish();
    else ctx.signal?.addEventListener('abort', onAbort, { once: true });
    return () => {
      if (!done) {
        done = true;
        detach();
      }
    };
  });
}

/** In-code form: `pcmSource(readable, {encoding: 'f32le', sampleRate: 8000})`. */
export function pcmSource(input: Readable, params: Partial<StdinSourceParams> = {}, ctx: Partial<OperatorContext> = {}): Observable<StreamItem> {
  const full = validateParams(StdinSource, params, StdinSource.kind) as unknown as StdinSourceParams;
  return readPcm(input, full, defaultContext(StdinSource.kind, ctx));
}
