import { expect } from 'chai';
import fc from 'fast-check';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { pcmSource } from '../operators/stdin-source/index.js';
import { PcmStream } from '../operators/stdin-source/pcm.js';
import type { AudioItem, StreamItem } from '../toolkit/items.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { encodePcm } from './helpers/ws-client.js';
import { CLIP, MODEL, cer, readWavMono, sharedTranscript } from './helpers/live.js';
import { joinedAudio } from './helpers/audio-items.js';

function ramp(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin(i / 7) * 0.8;
  return out;
}

/** Writes `bytes` to a PassThrough in pieces of the given sizes (cycled), then ends it. */
function feed(bytes: Buffer, sizes: number[]): PassThrough {
  const input = new PassThrough();
  setImmediate(() => {
    let at = 0;
    for (let k = 0; at < bytes.length; k++) {
      const n = sizes[k % sizes.length];
      input.write(bytes.subarray(at, at + n));
      at += n;
    }
    input.end();
  });
  return input;
}

const joined = joinedAudio;

describe('StdinSource', function () {
  this.timeout(30000);

  it('reads s16le split anywhere (odd byte counts) into exact 100 ms blocks and one punct', async () => {
    const samples = ramp(5000);
    const bytes = encodePcm(samples, 'pcm16le');
    const items = await lastValueFrom(pcmSource(feed(bytes, [1, 333, 2, 1001])).pipe(toArray()));
    expect(items.at(-1)).to.deep.equal({ kind: 'punct', streamId: 'stdin' });
    const audio = items.filter((i): i is AudioItem => i.kind === 'audio');
    expect(audio.map((a) => a.samples.length)).to.deep.equal([1600, 1600, 1600, 200]);
    const got = joined(items);
    for (let i = 0; i < samples.length; i++) expect(got[i]).to.equal(bytes.readInt16LE(2 * i) / 32768);
  });

  it('averages interleaved f32le channels and takes its streamId and block size from params', async () => {
    const frames = 800;
    const inter = new Float32Array(frames * 2);
    for (let i = 0; i < frames; i++) {
      inter[2 * i] = 0.5;
      inter[2 * i + 1] = i % 2 ? 0.25 : -0.25;
    }
    const bytes = Buffer.from(inter.buffer);
    const items = await lastValueFrom(pcmSource(feed(bytes, [7, 4096]), { encoding: 'f32le', channels: 2, blockMs: 20, streamId: 'mic' }).pipe(toArray()));
    const got = joined(items);
    expect(got.length).to.equal(frames);
    expect(items.filter((i) => i.kind === 'audio').every((i) => i.streamId === 'mic' && (i as AudioItem).samples.length <= 320)).to.equal(true);
    for (let i = 0; i < frames; i++) expect(got[i]).to.be.closeTo(i % 2 ? 0.375 : 0.125, 1e-7);
  });

  it('resamples 8 kHz input to 16 kHz (exactly twice the samples)', async () => {
    const bytes = encodePcm(ramp(4001), 'pcm16le');
    const items = await lastValueFrom(pcmSource(feed(bytes, [999]), { sampleRate: 8000 }).pipe(toArray()));
    const got = joined(items);
    expect(got.length).to.equal(8002);
    expect((items.find((i) => i.kind === 'audio') as AudioItem).sampleRate).to.equal(16000);
  });

  it('PcmStream gives identical output whatever the read sizes (property)', () => {
    const bytes = encodePcm(ramp(3000), 'pcm16le');
    const run = (sizes: number[]) => {
      const pcm = new PcmStream({ encoding: 's16le', sampleRate: 22050, outputRate: 16000, blockSamples: 512 });
      const blocks: Float32Array[] = [];
      for (let at = 0, k = 0; at < bytes.length; k++) {
        const n = sizes[k % sizes.length];
        blocks.push(...pcm.push(bytes.subarray(at, at + n)));
        at += n;
      }
      blocks.push(...pcm.end());
      return Buffer.concat(blocks.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
    };
    const reference = run([bytes.length]);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        expect(run(sizes).equals(reference)).to.equal(true);
      }),
      { numRuns: 25 },
    );
  });

  it('ends its stream (punct, completion) when the run is aborted', async () => {
    const input = new PassThrough();
    const abort = new AbortController();
    const done = lastValueFrom(pcmSource(input, {}, { signal: abort.signal }).pipe(toArray()));
    input.write(encodePcm(ramp(2000), 'pcm16le'));
    setTimeout(() => abort.abort(), 50);
    const items = await done;
    expect(items.at(-1)!.kind).to.equal('punct');
    expect(joined(items).length).to.equal(2000);
  });

  /** Pipes the clip as raw PCM into `run graphs/stdin.yaml` and returns stdout. */
  function runStdinGraph(extra: string[], encoding: 'pcm16le' | 'f32le' = 'pcm16le'): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js'), 'run', 'graphs/stdin.yaml', ...extra], { cwd: TOOLKIT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const bytes = encodePcm(readWavMono(CLIP), encoding);
    // Written in odd-sized pieces, like a pipe from arecord.
    for (let at = 0; at < bytes.length; at += 4097) child.stdin.write(bytes.subarray(at, at + 4097));
    child.stdin.end();
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  }

  it('graphs/stdin.yaml runs from the CLI on piped PCM and matches the file graph exactly (fixture model)', async () => {
    const model = {
      model: join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.onnx'),
      tokens: join(TOOLKIT_ROOT, 'test/fixtures/models/cache_aware.tokens.txt'),
    };
    // vad=false: one utterance, as graphs/onnx-stt.yaml treats the file.
    const r = await runStdinGraph([...Object.entries(model).flatMap(([k, v]) => ['--param', `${k}=${v}`]), '--param', 'format=jsonl', '--param', 'encoding=f32le', '--param', 'vad=false'], 'f32le');
    expect(r.code, r.stderr).to.equal(0);
    const records = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { streamId: string; isFinal: boolean; text: string });
    expect(records.length).to.be.greaterThan(0);
    expect(records.every((x) => x.streamId === 'stdin')).to.equal(true);
    expect(records.at(-1)!.isFinal).to.equal(true);
    // The same model on the same samples: exactly the file graph's transcript.
    const text = records.filter((x) => x.isFinal && x.text.trim()).map((x) => x.text.trim()).join(' ');
    expect(text).to.equal(await sharedTranscript(model));
  });

  it('graphs/stdin.yaml endpoints: each utterance\'s final is printed (text format) while the input is still open', async function () {
    this.timeout(120000);
    const child = spawn(process.execPath, [join(TOOLKIT_ROOT, 'dist/toolkit/cli/main.js'), 'run', 'graphs/stdin.yaml'], { cwd: TOOLKIT_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    const lines = () => stdout.split('\n').filter(Boolean);
    const waitForLines = async (n: number) => {
      const deadline = Date.now() + 60000;
      while (lines().length < n) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`expected ${n} final line(s) before the input ended; stdout: ${stdout} stderr: ${stderr}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const pause = new Float32Array(16000 * 1.5);
    try {
      // An utterance, a pause: its final must come out now, with the input still open.
      for (const clip of [CLIP, join(TOOLKIT_ROOT, 'samples/audio/flite-slt-fox.wav')]) {
        child.stdin.write(encodePcm(readWavMono(clip), 'pcm16le'));
        child.stdin.write(encodePcm(pause, 'pcm16le'));
        await waitForLines(lines().length + 1);
      }
    } finally {
      child.stdin.end();
    }
    expect(await closed, stderr).to.equal(0);
    const finals = lines();
    expect(finals.length, stdout).to.equal(2);
    for (const l of finals) expect(l).to.match(/^stdin \[\d+\.\d\d-\d+\.\d\d\]: \S/);
    const ends = finals.map((l) => Number(/-(\d+\.\d\d)\]/.exec(l)![1]));
    expect(ends[0]).to.be.below(ends[1]);
  });

  it('graphs/stdin.yaml with the bundled model gives the file graph transcript', async function () {
    if (!existsSync(MODEL)) this.skip(); // the bundled model arrives with its own issue
    this.timeout(120000);
    const expected = await sharedTranscript();
    const r = await runStdinGraph(['--param', 'format=jsonl', '--param', 'vad=false']);
    expect(r.code, r.stderr).to.equal(0);
    const text = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { isFinal: boolean; text: string })
      .filter((x) => x.isFinal && x.text.trim())
      .map((x) => x.text.trim())
      .join(' ');
    expect(cer(text, expected)).to.be.at.most(0.02);
  });
});
