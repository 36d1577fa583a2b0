/** A small WebSocket client for the live protocol (tests and bench/ws-load). */
import { WebSocket } from 'ws';

export interface ServerMessage {
  type: string;
  [key: string]: unknown;
}

export interface ClientResult {
  messages: ServerMessage[];
  /** Size in bytes of each message, and when it arrived (performance.now()), in the same order. */
  sizes: number[];
  times: number[];
  /** When the first audio frame was sent (performance.now()); NaN if none was. */
  audioStartAt: number;
  code: number;
  reason: string;
  /** Milliseconds from the end message being sent to the final result (NaN if none). */
  finalLatencyMs: number;
}

export interface ClientOptions {
  sampleRate?: number;
  encoding?: 'pcm16le' | 'f32le';
  /** Extra fields of the start message (or a replacement start message). */
  start?: Record<string, unknown> | null;
  headers?: Record<string, string>;
  /** Bytes per binary frame. */
  frameBytes?: number;
  /** Pause between frames (ms); 'realtime' paces the audio at its own rate. */
  pace?: number | 'realtime';
  /** Send the end message (default true). */
  end?: boolean;
  /** Called after each frame; return 'stop' to stop sending. */
  onFrame?: (ws: WebSocket, index: number) => void | 'stop';
}

export function encodePcm(samples: Float32Array, encoding: 'pcm16le' | 'f32le'): Buffer {
  if (encoding === 'f32le') return Buffer.from(new Float32Array(samples).buffer);
  const out = Buffer.alloc(samples.length * 2);
  for (let i = 0; i < samples.length; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(samples[i] * 32768))), i * 2);
  return out;
}

export function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Collects every message until the server closes the connection. */
export function collect(ws: WebSocket): Promise<ClientResult> {
  const messages: ServerMessage[] = [];
  const sizes: number[] = [];
  const times: number[] = [];
  let audioStartAt = NaN;
  let endSentAt = NaN;
  let finalAt = NaN;
  const marks = ws as WebSocket & { markEnd?: () => void; markAudioStart?: () => void };
  marks.markEnd = () => {
    endSentAt = performance.now();
  };
  marks.markAudioStart = () => {
    audioStartAt = performance.now();
  };
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const text = data.toString();
    const msg = JSON.parse(text) as ServerMessage;
    if (msg.type === 'final') finalAt = performance.now();
    messages.push(msg);
    sizes.push(Buffer.byteLength(text));
    times.push(performance.now());
  });
  ws.on('error', () => undefined);
  return new Promise((resolve) => {
    ws.once('close', (code, reason) => resolve({ messages, sizes, times, audioStartAt, code, reason: reason.toString(), finalLatencyMs: finalAt - endSentAt }));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Streams `audio` in one session and returns what the server said. */
export async function stream(url: string, audio: Float32Array, opts: ClientOptions = {}): Promise<ClientResult> {
  const encoding = opts.encoding ?? 'pcm16le';
  const sampleRate = opts.sampleRate ?? 16000;
  const ws = await connect(url, opts.headers);
  const done = collect(ws);
  if (opts.start !== null) ws.send(JSON.stringify({ type: 'start', sampleRate, encoding, ...(opts.start ?? {}) }));
  const bytes = encodePcm(audio, encoding);
  const frameBytes = opts.frameBytes ?? 3200;
  const bytesPerSecond = sampleRate * (encoding === 'f32le' ? 4 : 2);
  const started = performance.now();
  (ws as WebSocket & { markAudioStart?: () => void }).markAudioStart?.();
  for (let at = 0, i = 0; at < bytes.length && ws.readyState === WebSocket.OPEN; at += frameBytes, i++) {
    ws.send(bytes.subarray(at, at + frameBytes));
    if (opts.onFrame?.(ws, i) === 'stop') return done;
    if (opts.pace === 'realtime') {
      const due = ((at + frameBytes) / bytesPerSecond) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    } else if (opts.pace) await sleep(opts.pace);
  }
  if (opts.end !== false && ws.readyState === WebSocket.OPEN) {
    (ws as WebSocket & { markEnd?: () => void }).markEnd?.();
    ws.send(JSON.stringify({ type: 'end' }));
  }
  return done;
}

export function finalText(result: ClientResult): string {
  return result.messages
    .filter((m) => m.type === 'final')
    .map((m) => String(m.text).trim())
    .filter(Boolean)
    .join(' ');
}
