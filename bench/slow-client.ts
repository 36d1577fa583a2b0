/**
 * bench:slow-client — the memory a live server holds for a client that never reads its results
 * (issue #16). `streamsx-stt serve` (graphs/ws-server.yaml, its own process) gets one session whose
 * client pauses its socket and streams the LibriVox clip, looped, at --speed times real time for
 * --seconds of audio; then the client goes away. Without a bound, every partial (the whole utterance's
 * text so far) piles up in the server's send buffer; with it, at most maxSendBufferBytes do.
 *
 *   npm run bench:slow-client -- [--seconds 900] [--speed 10] [--quick] [--model m.onnx --tokens t.txt]
 */
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { connect, encodePcm } from '../test/helpers/ws-client.js';
import { readWavMono, CLIP } from '../test/helpers/live.js';
import { fmt, machine, main, num, opt, quick, result, SHARED_MACHINE_NOTE, table } from './common.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

main(async () => {
  const seconds = num('seconds', quick ? 20 : 900);
  const speed = num('speed', 10);
  const params = [opt('model') && `model=${opt('model')}`, opt('tokens') && `tokens=${opt('tokens')}`].filter((p): p is string => !!p).flatMap((p) => ['--param', p]);
  const server = spawn(process.execPath, [join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js'), 'serve', '--port', '0', ...params], { cwd: TOOLKIT_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  try {
    const deadline = Date.now() + 60000;
    while (!/listening on ws:\/\/\S+/.test(log)) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${log}`);
      await sleep(50);
    }
    const url = /listening on (ws:\/\/\S+)/.exec(log)![1];
    const health = async () => (await (await fetch(url.replace(/^ws/, 'http').replace(/\/ws$/, '/healthz'))).json()) as Record<string, number>;
    const before = rssMb(server.pid!);

    const ws = await connect(url);
    (ws as unknown as { _socket: Socket })._socket.pause(); // never reads
    ws.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'pcm16le' }));
    const clip = encodePcm(readWavMono(CLIP), 'pcm16le');
    const frameBytes = 3200; // 100 ms
    const frames = Math.round(seconds * 10);
    const started = performance.now();
    let peak = before;
    for (let i = 0; i < frames && ws.readyState === ws.OPEN; i++) {
      const at = ((i * frameBytes) % (clip.length - frameBytes)) & ~1;
      ws.send(clip.subarray(at, at + frameBytes));
      if (i % 50 === 0) peak = Math.max(peak, rssMb(server.pid!));
      const due = ((i + 1) * 100) / speed - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
    await sleep(1000);
    peak = Math.max(peak, rssMb(server.pid!));
    const during = await health();
    ws.terminate();
    await sleep(3000);
    const after = rssMb(server.pid!);
    const left = await health();

    console.log(`bench:slow-client — ${machine('serve (graphs/ws-server.yaml), its default OnnxSTT threads')}`);
    console.log(SHARED_MACHINE_NOTE);
    console.log('');
    console.log(
      table(
        ['client', 'audio s', 'x real time', 'server RSS before MB', 'peak MB', 'after it left MB', 'unsent bytes at the end', 'partials dropped'],
        [['never reads', seconds, speed, fmt(before, 1), fmt(peak, 1), fmt(after, 1), during.unsentBytes ?? 'n/a', during.droppedPartials ?? 'n/a']],
      ),
    );
    console.log('');
    result('slow_client', {
      audio_s: seconds,
      rss_before_mb: before,
      rss_peak_mb: peak,
      rss_after_mb: after,
      growth_mb: peak - before,
      dropped_partials: during.droppedPartials ?? -1,
      connections_after: left.connections,
    });
  } finally {
    server.kill('SIGKILL');
  }
});
