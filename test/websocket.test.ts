import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { OPERATORS } from '../operators/index.js';
import { CLOSE, waitForServer } from '../operators/websocket/index.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { FlowControl } from '../toolkit/runtime/flow.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { collect, connect, encodePcm, finalText, stream, type ClientResult } from './helpers/ws-client.js';
import { readWavMono, sharedTranscript, cer, MODEL, CLIP } from './helpers/live.js';
import { silentLog, startServer, stop, tone, expectedFinal, types, waitUntil, healthy, expectHealthy } from './helpers/live-harness.js';

/** The tiny cache-aware contract fixture: the real graph runs without the bundled model. */
const FIXTURE_PARAMS: Array<[string, string]> = [
  ['model', join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.onnx')],
  ['tokens', join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.tokens.txt')],
];

describe('WebSocketSource / WebSocketSink', function () {
  this.timeout(20000);

  it('happy path: two concurrent sessions, samples split across frames, both encodings', async () => {
    const h = await startServer();
    try {
      const a = tone(1.3, 16000, 300);
      const b = tone(0.9, 16000, 500);
      // 1001-byte frames cut pcm16 samples in two; 1003-byte frames cut f32 samples anywhere.
      const [ra, rb] = await Promise.all([
        stream(h.url, a, { encoding: 'pcm16le', frameBytes: 1001, pace: 2 }),
        stream(h.url, b, { encoding: 'f32le', frameBytes: 1003, pace: 2 }),
      ]);
      for (const [r, audio, enc] of [[ra, a, 'pcm16le'], [rb, b, 'f32le']] as const) {
        expect(r.code).to.equal(CLOSE.NORMAL);
        expect(types(r)).to.deep.equal(['ready', 'partial', 'final', 'end']);
        const ready = r.messages[0];
        expect(ready.sampleRate).to.equal(16000);
        const final = r.messages.find((m) => m.type === 'final')!;
        expect(final.text).to.equal(expectedFinal(audio, enc));
        expect(final).to.include({ isFinal: true, streamId: ready.streamId });
        expect(final).to.have.keys('type', 'streamId', 'text', 'isFinal', 'confidence', 'utteranceNumber', 'startMs', 'endMs');
        const end = r.messages.at(-1)!;
        expect(end).to.include({ type: 'end', streamId: ready.streamId, droppedMs: 0, reason: 'end of stream' });
        expect(end.audioMs).to.equal(Math.round((audio.length * 1000) / 16000));
        for (const m of r.messages) expect(m.streamId).to.equal(ready.streamId);
      }
      expect(ra.messages[0].streamId).to.not.equal(rb.messages[0].streamId);
      await waitUntil(() => h.server.stats().connections === 0, 'the connections to close');
      expect(h.server.stats()).to.include({ connections: 0, streams: 0, completed: 2, aborted: 0 });
      expect(h.live.open).to.equal(0);
      // Each session is one stream: audio..., punct.
      const ids = new Set(h.items.filter((i) => i.kind === 'punct').map((i) => i.streamId));
      expect(ids.size).to.equal(2);
    } finally {
      await stop(h);
    }
  });

  it('resamples a client at another rate to 16 kHz', async () => {
    const h = await startServer();
    try {
      const r = await stream(h.url, tone(0.5, 8000, 300), { sampleRate: 8000, frameBytes: 999 });
      expect(r.code).to.equal(CLOSE.NORMAL);
      const final = r.messages.find((m) => m.type === 'final')!;
      expect(Number(String(final.text).split(':')[0])).to.equal(8000);
    } finally {
      await stop(h);
    }
  });

  it('refuses an unsupported start message with 4001 and a clear error', async () => {
    const h = await startServer();
    try {
      const rate = await stream(h.url, tone(0.1), { sampleRate: 4000 });
      expect(rate.code).to.equal(CLOSE.UNSUPPORTED_AUDIO);
      expect(rate.messages[0]).to.include({ type: 'error', code: 4001 });
      expect(String(rate.messages[0].message)).to.match(/unsupported sampleRate 4000/);
      const enc = await stream(h.url, tone(0.1), { start: { encoding: 'mp3' } });
      expect(enc.code).to.equal(CLOSE.UNSUPPORTED_AUDIO);
      expect(enc.reason).to.match(/unsupported encoding "mp3"/);
      await waitUntil(() => h.server.stats().connections === 0, 'the connections to close');
      expect(h.server.stats()).to.include({ streams: 0, accepted: 2 });
    } finally {
      await stop(h);
    }
  });

  it('closes protocol violations with 4000 (audio before start, not JSON, unknown type); a healthy session finishes', async () => {
    const h = await startServer();
    try {
      const ok = healthy(h.url);
      const early = await stream(h.url, tone(0.1), { start: null });
      expect(early.code).to.equal(CLOSE.PROTOCOL);
      expect(early.reason).to.equal('audio before the start message');
      const bad = await connect(h.url);
      const badDone = collect(bad);
      bad.send('{not json');
      expect((await badDone).code).to.equal(CLOSE.PROTOCOL);
      const unknown = await connect(h.url);
      const unknownDone = collect(unknown);
      unknown.send(JSON.stringify({ type: 'pause' }));
      expect((await unknownDone).reason).to.match(/unknown message type "pause"/);
      expectHealthy(await ok);
    } finally {
      await stop(h);
    }
  });

  it('maxFrameBytes: a larger frame closes that session with 1009; a healthy session finishes', async () => {
    const h = await startServer({ maxFrameBytes: 4096 });
    try {
      const ok = healthy(h.url);
      const big = await stream(h.url, tone(0.5), { frameBytes: 8192 });
      expect(big.code).to.equal(CLOSE.TOO_BIG);
      expectHealthy(await ok);
      await waitUntil(() => h.server.stats().streams === 0 && h.live.open === 0, 'state to be freed');
      expect(h.items.some((i) => i.kind === 'error' && /maxFrameBytes/.test(i.message))).to.equal(true);
    } finally {
      await stop(h);
    }
  });

  it('maxSessions: one session too many is closed with 4429; the open ones finish', async () => {
    const h = await startServer({ maxSessions: 2 });
    try {
      const ok = healthy(h.url);
      await waitUntil(() => h.server.stats().connections === 1, 'the first session');
      const second = healthy(h.url);
      await waitUntil(() => h.server.stats().connections === 2, 'the second session');
      const third = await stream(h.url, tone(0.1));
      expect(third.code).to.equal(CLOSE.BUSY);
      expect(third.reason).to.match(/maxSessions/);
      expectHealthy(await ok);
      expectHealthy(await second);
      expect(h.server.stats()).to.include({ refused: 1, completed: 2 });
    } finally {
      await stop(h);
    }
  });

  it('idleTimeoutSeconds: a silent session is closed with 4008; a healthy one beside it finishes', async () => {
    const h = await startServer({ idleTimeoutSeconds: 0.3 });
    try {
      const ok = healthy(h.url, 0.5);
      const quiet = await connect(h.url);
      const quietDone = collect(quiet);
      quiet.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'pcm16le' }));
      quiet.send(encodePcm(tone(0.1), 'pcm16le'));
      const r = await quietDone;
      expect(r.code).to.equal(CLOSE.IDLE);
      expect(r.messages.map((m) => m.type)).to.include('error');
      expectHealthy(await ok, 0.5);
      await waitUntil(() => h.server.stats().streams === 0 && h.live.open === 0, 'state to be freed');
    } finally {
      await stop(h);
    }
  });

  it('maxSessionSeconds: a too-long session is finalised (final, end) and closed with 4009; a short one finishes', async () => {
    const h = await startServer({ maxSessionSeconds: 0.6 });
    try {
      const ok = healthy(h.url, 0.25);
      const long = await stream(h.url, tone(2), { frameBytes: 3200, pace: 1 });
      expect(long.code).to.equal(CLOSE.TOO_LONG);
      expect(long.reason).to.match(/maxSessionSeconds/);
      const final = long.messages.find((m) => m.type === 'final')!;
      expect(Number(String(final.text).split(':')[0])).to.be.within(0.6 * 16000, 0.7 * 16000);
      expect(long.messages.at(-1)).to.include({ type: 'end' });
      expectHealthy(await ok, 0.25);
    } finally {
      await stop(h);
    }
  });

  it('bearer token: missing or wrong tokens are closed with 4401; header and ?token= both work', async () => {
    const h = await startServer({ token: 's3cret' });
    try {
      const ok = healthy(h.url, 0.5, { Authorization: 'Bearer s3cret' });
      const viaQuery = healthy(`${h.url}?token=s3cret`, 0.5);
      const none = await stream(h.url, tone(0.1));
      expect(none.code).to.equal(CLOSE.UNAUTHORIZED);
      const wrong = await stream(`${h.url}?token=guess`, tone(0.1));
      expect(wrong.code).to.equal(CLOSE.UNAUTHORIZED);
      expect(wrong.reason).to.equal('wrong token');
      expectHealthy(await ok);
      expectHealthy(await viaQuery);
    } finally {
      await stop(h);
    }
  });

  it('origin check: other origins are closed with 4403; allowed, same-host and origin-less clients work', async () => {
    const h = await startServer({ allowedOrigins: ['https://captions.example'] });
    const same = await startServer();
    try {
      const ok = healthy(h.url, 0.5, { Origin: 'https://captions.example' });
      const noOrigin = healthy(h.url, 0.5);
      const evil = await stream(h.url, tone(0.1), { headers: { Origin: 'https://evil.example' } });
      expect(evil.code).to.equal(CLOSE.FORBIDDEN_ORIGIN);
      expect(evil.reason).to.match(/evil\.example/);
      expectHealthy(await ok);
      expectHealthy(await noOrigin);
      const { port } = same.server.address();
      expectHealthy(await healthy(same.url, 0.5, { Origin: `http://127.0.0.1:${port}` }));
      expect((await stream(same.url, tone(0.1), { headers: { Origin: 'http://localhost:1' } })).code).to.equal(CLOSE.FORBIDDEN_ORIGIN);
    } finally {
      await stop(h);
      await stop(same);
    }
  });

  it('a client that disconnects mid-stream: its state is freed, the other session is unaffected', async () => {
    const h = await startServer();
    try {
      const ok = stream(h.url, tone(1), { frameBytes: 1600, pace: 50 });
      const gone = await stream(h.url, tone(2), {
        frameBytes: 1600,
        pace: 5,
        onFrame: (ws, i) => {
          if (i === 5) {
            ws.terminate();
            return 'stop';
          }
        },
      });
      expect(gone.code).to.equal(1006);
      // While the healthy session still runs, only its state is held.
      await waitUntil(() => h.server.stats().streams === 1 && h.live.open === 1, 'the disconnected stream to be freed');
      expect(h.server.stats().connections).to.equal(1);
      const r = await ok;
      expect(r.code).to.equal(CLOSE.NORMAL);
      expect(r.messages.find((m) => m.type === 'final')!.text).to.equal(expectedFinal(tone(1), 'pcm16le'));
      await waitUntil(() => h.server.stats().streams === 0 && h.live.open === 0, 'all state to be freed');
      expect(h.items.filter((i) => i.kind === 'error').map((i) => (i as { message: string }).message)).to.deep.equal(['client disconnected']);
      expect(h.server.stats()).to.include({ aborted: 1, completed: 1 });
    } finally {
      await stop(h);
    }
  });

  it('a pipeline failure in one stream: that session gets error, end and 1011; the other finishes', async () => {
    const h = await startServer();
    try {
      const ok = healthy(h.url, 0.5);
      const poison = new Float32Array(3200).fill(0.25);
      const bad = await stream(h.url, poison, { encoding: 'f32le', frameBytes: 6400 });
      expect(bad.code).to.equal(CLOSE.INTERNAL);
      expect(types(bad)).to.deep.equal(['ready', 'error', 'end']);
      expect(bad.messages[1]).to.include({ type: 'error', operator: 'FakeSTT', message: 'model failed on this stream' });
      expectHealthy(await ok, 0.5);
      await waitUntil(() => h.server.stats().streams === 0 && h.live.open === 0, 'state to be freed');
    } finally {
      await stop(h);
    }
  });

  it('live backpressure (overflow "drop"): a slow pipeline drops the oldest audio beyond maxBacklogSeconds, counted, without blocking the socket', async () => {
    const h = await startServer({ maxBacklogSeconds: 0.5 }, { delayMs: 20, flow: new FlowControl(2) });
    try {
      const r = await stream(h.url, tone(4), { frameBytes: 6400, start: { overflow: 'drop' } });
      expect(r.code).to.equal(CLOSE.NORMAL);
      const end = r.messages.at(-1)!;
      expect(end.type).to.equal('end');
      expect(end.droppedMs as number).to.be.greaterThan(1000);
      expect(end.audioMs).to.equal(4000);
      const processed = Number(String(r.messages.find((m) => m.type === 'final')!.text).split(':')[0]);
      expect(processed + ((end.droppedMs as number) * 16)).to.equal(64000);
      expect(h.server.stats().droppedSamples).to.equal((end.droppedMs as number) * 16);
      // A source that waited on the pipeline would have dropped nothing: the socket was read at full speed.
      // Each loss was told as it happened; together the notices add up to the end message's figure.
      const notices = r.messages.filter((m) => m.type === 'dropped');
      expect(notices.length).to.be.greaterThan(0);
      expect(notices.reduce((a, m) => a + (m.droppedMs as number), 0)).to.be.closeTo(end.droppedMs as number, notices.length);
      expect(notices.at(-1)!.totalDroppedMs).to.equal(end.droppedMs);
      expect(r.messages.findIndex((m) => m.type === 'dropped')).to.be.below(r.messages.findIndex((m) => m.type === 'final'));
    } finally {
      await stop(h);
    }
  });

  it('flow control (overflow "pause", the default): a client sending faster than a slow pipeline is slowed down by TCP, nothing is lost', async () => {
    const h = await startServer({ maxBacklogSeconds: 0.5 }, { delayMs: 5, flow: new FlowControl(2) });
    try {
      const audio = tone(8);
      const r = await stream(h.url, audio, { frameBytes: 6400 });
      expect(r.code).to.equal(CLOSE.NORMAL);
      expect(r.messages[0]).to.include({ type: 'ready', overflow: 'pause' });
      expect(r.messages.some((m) => m.type === 'dropped')).to.equal(false);
      const end = r.messages.at(-1)!;
      expect(end).to.include({ type: 'end', droppedMs: 0, audioMs: 8000, finals: 1 });
      // Every sample was transcribed, and the socket was paused while the pipeline was behind.
      expect(r.messages.find((m) => m.type === 'final')!.text).to.equal(expectedFinal(audio, 'pcm16le'));
      expect(h.server.stats().pauses).to.be.greaterThan(0);
      expect(h.server.stats().droppedSamples).to.equal(0);
    } finally {
      await stop(h);
    }
  });

  it('a real-time session (overflow "drop") with an overloaded pipeline is told of each drop while it is still sending', async () => {
    const h = await startServer({ maxBacklogSeconds: 0.3 }, { delayMs: 200, flow: new FlowControl(1) });
    try {
      let firstNoticeAt = Infinity;
      let lastFrameAt = 0;
      const r = await stream(h.url, tone(3), {
        frameBytes: 3200,
        pace: 'realtime',
        start: { overflow: 'drop' },
        onFrame: (ws, i) => {
          if (i === 0) {
            ws.on('message', (data) => {
              if ((JSON.parse(String(data)) as { type: string }).type === 'dropped') firstNoticeAt = Math.min(firstNoticeAt, performance.now());
            });
          }
          lastFrameAt = performance.now();
        },
      });
      expect(r.code).to.equal(CLOSE.NORMAL);
      const notices = r.messages.filter((m) => m.type === 'dropped');
      expect(notices.length).to.be.greaterThan(0);
      expect(firstNoticeAt, 'a dropped message before the last audio frame was sent').to.be.below(lastFrameAt);
      for (const m of notices) expect(m).to.include.keys('streamId', 'droppedMs', 'totalDroppedMs', 'atMs');
      const end = r.messages.at(-1)!;
      expect(end.type).to.equal('end');
      expect(notices.at(-1)!.totalDroppedMs).to.equal(end.droppedMs);
      const processed = Number(String(r.messages.find((m) => m.type === 'final')!.text).split(':')[0]);
      expect(processed + (end.droppedMs as number) * 16).to.equal(48000);
    } finally {
      await stop(h);
    }
  });

  it('refuses an unknown overflow in the start message with 4000 and a one-line error', async () => {
    const h = await startServer();
    try {
      const r = await stream(h.url, tone(0.1), { start: { overflow: 'block' } });
      expect(r.code).to.equal(CLOSE.PROTOCOL);
      expect(String(r.messages[0].message)).to.match(/^unknown overflow "block": use "pause" .* or "drop"/);
    } finally {
      await stop(h);
    }
  });

  it('graceful shutdown finalises open sessions (final, end, 1001), refuses new ones, and completes', async () => {
    const h = await startServer();
    const ws = await connect(h.url);
    const done = collect(ws);
    ws.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'pcm16le' }));
    ws.send(encodePcm(tone(0.5), 'pcm16le'));
    await waitUntil(() => h.items.some((i) => i.kind === 'transcript'), 'audio to flow');
    const waiting = await connect(h.url); // connected, never started
    const waitingDone = collect(waiting);
    h.abort.abort();
    const r = await done;
    expect(r.code).to.equal(CLOSE.GOING_AWAY);
    expect(types(r).slice(-2)).to.deep.equal(['final', 'end']);
    expect(r.messages.find((m) => m.type === 'final')!.text).to.equal(expectedFinal(tone(0.5), 'pcm16le'));
    expect((await waitingDone).code).to.equal(CLOSE.GOING_AWAY);
    await h.done;
    await h.server.whenClosed();
    await new Promise<void>((resolve) => {
      const late = new WebSocket(h.url);
      late.on('error', () => resolve());
      late.on('open', () => resolve());
    });
    expect(h.live.open).to.equal(0);
  });

  it('serves the caption page at / and stats at /healthz; no page files outside webRoot', async () => {
    const h = await startServer();
    try {
      const base = h.url.replace('ws://', 'http://').replace(/\/ws$/, '');
      const page = await fetch(`${base}/`);
      expect(page.status).to.equal(200);
      expect(page.headers.get('content-type')).to.match(/text\/html/);
      expect(await page.text()).to.match(/<title>.*captions/i);
      expect((await fetch(`${base}/worklet.js`)).status).to.equal(200);
      expect((await fetch(`${base}/..%2Fpackage.json`)).status).to.equal(404);
      expect((await fetch(`${base}/../package.json`)).status).to.equal(404);
      const health = (await (await fetch(`${base}/healthz`)).json()) as { ok: boolean; connections: number };
      expect(health).to.include({ ok: true, connections: 0 });
    } finally {
      await stop(h);
    }
  });

  it('the serve command runs a graph, prints its address, and exits 0 on SIGTERM after finalising', async function () {
    // The shipped graph, with the tiny cache-aware contract fixture standing in for the bundled model.
    const child = spawn(process.execPath, [join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js'), 'serve', '--port', '0', ...FIXTURE_PARAMS.flatMap(([k, v]) => ['--param', `${k}=${v}`])], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: TOOLKIT_ROOT,
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitUntil(() => /listening on (ws:\/\/\S+)/.test(stderr), 'the server to listen', 15000);
      const url = /listening on (ws:\/\/\S+)/.exec(stderr)![1];
      expect(url).to.match(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
      // One session that ends normally, one left open that SIGTERM must finalise.
      const finished = await stream(url, readWavMono(CLIP).subarray(0, 16000), { frameBytes: 3200 });
      expect(finished.code).to.equal(CLOSE.NORMAL);
      expect(types(finished)[0]).to.equal('ready');
      expect(types(finished).slice(-2)).to.deep.equal(['final', 'end']);
      const ws = await connect(url);
      const done = collect(ws);
      ws.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'pcm16le' }));
      ws.send(encodePcm(tone(0.3), 'pcm16le'));
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGTERM');
      const r = await done;
      expect(r.code).to.equal(CLOSE.GOING_AWAY);
      expect(types(r).slice(-2)).to.deep.equal(['final', 'end']);
      expect(r.messages.at(-1)).to.include({ type: 'end', audioMs: 300, reason: 'server shutting down' });
      expect(await exited).to.equal(0);
      expect(stderr).to.match(/served: 2 session\(s\) ended/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('graphs/ws-server.yaml end to end', function () {
  this.timeout(120000);

  it('loads (its operators and params are valid; the fixture model stands in)', async function () {
    const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/ws-server.yaml'), { registry: OPERATORS, params: { port: '0', ...Object.fromEntries(FIXTURE_PARAMS) } });
    expect(plan.nodes.map((n) => n.spec.kind)).to.deep.equal(['WebSocketSource', 'Chunker', 'VadSegmenter', 'MelExtractor', 'OnnxSTT', 'CtcDecoder', 'WebSocketSink']);
  });

  /** Streams the clip in two concurrent sessions (pcm16le and f32le) through graphs/ws-server.yaml. */
  async function twoSessions(server: string, modelParams: Record<string, string>): Promise<ClientResult[]> {
    const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/ws-server.yaml'), { registry: OPERATORS, params: { port: '0', server, ...modelParams } });
    const abort = new AbortController();
    const run = runPlan(plan, { log: silentLog, signal: abort.signal });
    const live = await waitForServer(server);
    try {
      const audio = readWavMono(CLIP);
      const results = await Promise.all([
        stream(live.url, audio, { encoding: 'pcm16le', frameBytes: 3201, pace: 1 }),
        stream(live.url, audio, { encoding: 'f32le', frameBytes: 4000, pace: 1 }),
      ]);
      for (const r of results) {
        expect(r.code).to.equal(CLOSE.NORMAL);
        expect(r.messages[0].type).to.equal('ready');
        expect(r.messages.at(-1)!.type).to.equal('end');
      }
      return results;
    } finally {
      abort.abort();
      await run;
      await live.whenClosed();
    }
  }

  // vad=false: the session is one utterance, as graphs/onnx-stt.yaml treats the file (with endpointing the
  // live graph matches graphs/long-recording.yaml: test/long-sessions.test.ts).
  it('the same model gives exactly the file graph transcript over WebSocket (fixture model, two concurrent sessions)', async () => {
    const params = Object.fromEntries(FIXTURE_PARAMS);
    const expected = await sharedTranscript(params);
    expect(expected.length).to.be.greaterThan(0);
    for (const r of await twoSessions('fixture-test', { ...params, vad: 'false' })) expect(finalText(r)).to.equal(expected);
  });

  it('two concurrent sessions with the bundled model get the file graph transcript', async function () {
    if (!existsSync(MODEL)) {
      console.log('    (skipped: the bundled model models/stt-en-char-fastconformer-ctc/model.onnx is not there yet)');
      this.skip();
    }
    const expected = await sharedTranscript();
    expect(expected.length).to.be.greaterThan(0);
    for (const r of await twoSessions('model-test', { vad: 'false' })) expect(cer(finalText(r), expected)).to.be.at.most(0.02);
  });
});
