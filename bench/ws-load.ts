/**
 * bench:ws-load — N concurrent WebSocket clients on loopback, each streaming the LibriVox clip in
 * real time through graphs/ws-server.yaml. Counts sessions completed, finals received vs expected,
 * audio dropped by the backlog policy, the latency of the finals (below), and the
 * bytes the server sent: per session-minute of audio, and the largest message.
 *
 *   npm run bench:ws-load -- [--sessions 100] [--quick] [--find-max] [--minutes M] [--full-speed] [--vad false] [--model m.onnx --tokens t.txt]
 *
 * --minutes M: each client streams M minutes of speech (the shipped clips joined with pauses) instead of
 * the clip, in real time; with --full-speed it sends as fast as the server reads (flow control).
 * Latency: in real time, from the last sample of each utterance sent to its final; at full speed, from
 * the client's `end` to the last final.
 * --vad false: the graph without endpointing (each session one utterance).
 *
 * --quick: 10 sessions. --find-max: doubles the session count from 8 while every session completes,
 * nothing is dropped and p95 stays under --max-p95-ms (1000); prints the largest count that passed.
 * Bounded: at most --max-sessions (256) sessions and --timeout-s (180) seconds per round.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPERATORS } from '../operators/index.js';
import { waitForServer } from '../operators/websocket/index.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { readWavMono, CLIP, MODEL } from '../test/helpers/live.js';
import { stream, type ClientResult } from '../test/helpers/ws-client.js';
import { longRecording } from '../test/helpers/long-recording.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string' },
    quick: { type: 'boolean' },
    'find-max': { type: 'boolean' },
    model: { type: 'string' },
    tokens: { type: 'string' },
    'max-sessions': { type: 'string', default: '256' },
    'max-p95-ms': { type: 'string', default: '1000' },
    'timeout-s': { type: 'string', default: '180' },
    minutes: { type: 'string' },
    vad: { type: 'string', default: 'true' },
    'full-speed': { type: 'boolean' },
  },
});

const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };
const FIXTURE = join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.onnx');
const model = values.model ?? (existsSync(MODEL) ? MODEL : FIXTURE);
const tokens = values.tokens ?? (model === FIXTURE ? join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.tokens.txt') : join(TOOLKIT_ROOT, 'models/stt-en-char-fastconformer-ctc/tokens.txt'));
const maxSessions = Number(values['max-sessions']);
const timeoutMs = Number(values['timeout-s']) * 1000;
const recording = values.minutes ? longRecording(Number(values.minutes)) : undefined;
const audio = recording ? recording.samples : readWavMono(CLIP);
const audioMinutes = audio.length / 16000 / 60;

interface Round {
  sessions: number;
  completed: number;
  finals: number;
  lost: number;
  droppedMs: number;
  p50: number;
  p95: number;
  max: number;
  wallS: number;
  /** Bytes the server sent per minute of session audio, and its largest message. */
  bytesPerMin: number;
  maxMessage: number;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

async function round(n: number, seq: number): Promise<Round> {
  const server = `load${seq}`;
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/ws-server.yaml'), {
    registry: OPERATORS,
    params: { port: '0', server, model, tokens, maxSessions: String(n + 8), vad: values.vad },
  });
  const abort = new AbortController();
  const run = runPlan(plan, { log: silent, signal: abort.signal });
  const live = await waitForServer(server);
  const started = performance.now();
  const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
  // Connections are spread over the first second, as real clients would be.
  const clients = Array.from({ length: n }, (_, i) =>
    new Promise((r) => setTimeout(r, (i * 1000) / n)).then(() =>
      stream(live.url, audio, { frameBytes: 3200, pace: values['full-speed'] ? undefined : 'realtime' }).catch((): ClientResult => ({ messages: [], sizes: [], times: [], audioStartAt: NaN, code: 0, reason: 'connect failed', finalLatencyMs: NaN })),
    ),
  );
  const results = await Promise.race([Promise.all(clients), timeout]);
  const wallS = (performance.now() - started) / 1000;
  abort.abort();
  await run;
  await live.whenClosed();
  if (results === 'timeout') return { sessions: n, completed: 0, finals: 0, lost: n, droppedMs: NaN, p50: NaN, p95: NaN, max: NaN, wallS, bytesPerMin: NaN, maxMessage: NaN };
  const latencies = (values['full-speed'] ? results.map((r) => r.finalLatencyMs) : results.flatMap(finalDelays)).filter(Number.isFinite).sort((a, b) => a - b);
  const completed = results.filter((r) => r.code === 1000 && r.messages.at(-1)?.type === 'end').length;
  const withFinal = results.filter((r) => r.messages.some((m) => m.type === 'final')).length;
  const droppedMs = results.reduce((s, r) => s + Number(r.messages.find((m) => m.type === 'end')?.droppedMs ?? 0), 0);
  const sizes = results.flatMap((r) => r.sizes);
  const bytesPerMin = sizes.reduce((a, x) => a + x, 0) / (n * audioMinutes);
  const maxMessage = sizes.reduce((a, x) => Math.max(a, x), 0);
  return { sessions: n, completed, finals: withFinal, lost: n - Math.min(completed, withFinal), droppedMs, p50: pct(latencies, 50), p95: pct(latencies, 95), max: latencies.at(-1) ?? NaN, wallS, bytesPerMin, maxMessage };
}

/**
 * Real-time pace: how long after the last sample of each utterance was sent its final arrived (with
 * endpointing a session has a final per utterance, most of them before the client's `end`; for one
 * utterance ending with the audio this is the latency from `end` to the final).
 */
function finalDelays(r: ClientResult): number[] {
  return r.messages.flatMap((m, k) => (m.type === 'final' ? [r.times[k] - (r.audioStartAt + Number(m.endMs))] : []));
}

function print(rows: Round[]): void {
  const pace = values['full-speed'] ? 'at full speed' : 'in real time';
  console.log(`model: ${model}, endpointing (vad): ${values.vad}\naudio: ${recording ? recording.path : CLIP} (${(audio.length / 16000).toFixed(2)} s, streamed ${pace} by every client)\n`);
  console.log('sessions  completed  finals/expected  lost  dropped_ms  p50_ms  p95_ms  max_ms  wall_s  bytes/session-min  max_msg_bytes');
  for (const r of rows) {
    console.log(
      `${String(r.sessions).padStart(8)}  ${String(r.completed).padStart(9)}  ${`${r.finals}/${r.sessions}`.padStart(15)}  ${String(r.lost).padStart(4)}  ${String(r.droppedMs).padStart(10)}  ${r.p50.toFixed(0).padStart(6)}  ${r.p95.toFixed(0).padStart(6)}  ${r.max.toFixed(0).padStart(6)}  ${r.wallS.toFixed(1).padStart(6)}  ${r.bytesPerMin.toFixed(0).padStart(17)}  ${String(r.maxMessage).padStart(13)}`,
    );
  }
}

async function main(): Promise<void> {
  if (values['find-max']) {
    const limit = Number(values['max-p95-ms']);
    const rows: Round[] = [];
    let best = 0;
    for (let n = 8, seq = 0; n <= maxSessions; n *= 2, seq++) {
      const r = await round(n, seq);
      rows.push(r);
      if (r.lost || r.droppedMs || !(r.p95 <= limit)) break;
      best = n;
    }
    print(rows);
    for (const r of rows) console.log(`RESULT ws-load sessions=${r.sessions} lost=${r.lost} dropped_ms=${r.droppedMs} p95_ms=${r.p95.toFixed(0)} bytes_per_session_min=${r.bytesPerMin.toFixed(0)} max_msg_bytes=${r.maxMessage}`);
    console.log(`RESULT ws-load-max max_sessions=${best} p95_limit_ms=${limit}`);
    return;
  }
  const n = Math.min(maxSessions, Number(values.sessions ?? (values.quick ? 10 : 100)));
  const r = await round(n, 0);
  print([r]);
  console.log(
    `RESULT ws-load sessions=${r.sessions} completed=${r.completed} lost=${r.lost} dropped_ms=${r.droppedMs} p50_ms=${r.p50.toFixed(0)} p95_ms=${r.p95.toFixed(0)} ` +
      `bytes_per_session_min=${r.bytesPerMin.toFixed(0)} max_msg_bytes=${r.maxMessage}`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
