/** The WebSocket server tests' harness: a live server on a free port with a fake STT stage behind it. */
import { expect } from 'chai';
import type { OperatorFunction } from 'rxjs';
import { CLOSE, waitForServer, webSocketSink, webSocketSource, type LiveServer } from '../../operators/websocket/index.js';
import type { StreamItem } from '../../toolkit/items.js';
import { FlowControl } from '../../toolkit/runtime/flow.js';
import { perStream } from '../../toolkit/runtime/per-stream.js';
import { encodePcm, stream, type ClientResult } from './ws-client.js';

export const silentLog = { info: () => undefined, warn: () => undefined, verbose: () => undefined };

/**
 * A stand-in for Chunker..CtcDecoder: a partial per audio block, and a final "count:sum" at the end.
 * `partialPad`: each partial's text is padded with spaces to this many characters (a client that does
 * not read then fills its send buffer quickly).
 */
export function fakeStt(live: { open: number }, flow: FlowControl, delayMs = 0, partialPad = 0): OperatorFunction<StreamItem, StreamItem> {
  return perStream<{ n: number; sum: number; blocks: number }>({
    operator: 'FakeSTT',
    flow,
    accepts: ['audio'],
    open: () => {
      live.open++;
      return { n: 0, sum: 0, blocks: 0 };
    },
    onItem: async (s, item, emit) => {
      if (item.kind !== 'audio') return;
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      if (item.samples[0] === 0.25) throw new Error('model failed on this stream');
      s.n += item.samples.length;
      for (const v of item.samples) s.sum += v;
      emit({ kind: 'transcript', streamId: item.streamId, text: String(s.n).padEnd(partialPad), isFinal: false, confidence: 1, utteranceNumber: 0, startMs: 0, endMs: (s.n / 16) | 0 });
    },
    onEnd: (s, emit) => {
      emit({ kind: 'transcript', streamId: '', text: `${s.n}:${s.sum.toFixed(2)}`, isFinal: true, confidence: 1, utteranceNumber: 0, startMs: 0, endMs: (s.n / 16) | 0 });
    },
    release: () => {
      live.open--;
    },
  });
}

let serverSeq = 0;

export interface Harness {
  server: LiveServer;
  url: string;
  items: StreamItem[];
  live: { open: number };
  abort: AbortController;
  done: Promise<void>;
}

export async function startServer(params: Record<string, unknown> = {}, opts: { delayMs?: number; flow?: FlowControl; partialPad?: number } = {}): Promise<Harness> {
  const name = `t${++serverSeq}`;
  const abort = new AbortController();
  const live = { open: 0 };
  const items: StreamItem[] = [];
  const ctx = { signal: abort.signal, log: silentLog, flow: opts.flow ?? new FlowControl() };
  const source$ = webSocketSource({ server: name, port: 0, host: '127.0.0.1', ...params }, ctx);
  // The fake stage emits its final with streamId '' from onEnd: fix the id up from the punct that follows.
  const fixIds: OperatorFunction<StreamItem, StreamItem> = (src) =>
    new (src.constructor as typeof import('rxjs').Observable)<StreamItem>((dest) => {
      const pending: StreamItem[] = [];
      return src.subscribe({
        next: (item) => {
          if (item.kind === 'transcript' && item.streamId === '') return void pending.push(item);
          if (item.kind === 'punct') for (const p of pending.splice(0)) dest.next({ ...p, streamId: item.streamId });
          dest.next(item);
        },
        error: (e) => dest.error(e),
        complete: () => dest.complete(),
      });
    });
  const done = new Promise<void>((resolve, reject) => {
    source$.pipe(fakeStt(live, ctx.flow, opts.delayMs, opts.partialPad), fixIds, webSocketSink({ server: name }, ctx)).subscribe({
      next: (item) => items.push(item),
      error: reject,
      complete: resolve,
    });
  });
  const server = await waitForServer(name);
  return { server, url: server.url, items, live, abort, done };
}

export async function stop(h: Harness): Promise<void> {
  h.abort.abort();
  await h.done;
  await h.server.whenClosed();
}

export function tone(seconds: number, rate = 16000, freq = 440): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) out[i] = 0.5 * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** What the fake stage reports for audio sent as pcm16le (quantised like the wire). */
export function expectedFinal(samples: Float32Array, encoding: 'pcm16le' | 'f32le'): string {
  const bytes = encodePcm(samples, encoding);
  let sum = 0;
  if (encoding === 'pcm16le') for (let i = 0; i < samples.length; i++) sum += bytes.readInt16LE(i * 2) / 32768;
  else for (let i = 0; i < samples.length; i++) sum += bytes.readFloatLE(i * 4);
  return `${samples.length}:${sum.toFixed(2)}`;
}

export function types(r: ClientResult): string[] {
  return r.messages.map((m) => m.type).filter((t, i, all) => t !== 'partial' || all[i - 1] !== 'partial');
}

export async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A healthy session streamed beside a violation: it must finish normally. */
export function healthy(url: string, seconds = 0.5, headers: Record<string, string> = {}): Promise<ClientResult> {
  return stream(url, tone(seconds), { frameBytes: 1600, pace: 10, headers });
}

export function expectHealthy(r: ClientResult, seconds = 0.5): void {
  expect(r.code, JSON.stringify(r.messages.filter((m) => m.type !== 'partial'))).to.equal(CLOSE.NORMAL);
  expect(types(r)).to.deep.equal(['ready', 'partial', 'final', 'end']);
  expect(r.messages.find((m) => m.type === 'final')!.text).to.equal(expectedFinal(tone(seconds), 'pcm16le'));
}
