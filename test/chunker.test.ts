import { expect } from 'chai';
import fc from 'fast-check';
import { from, lastValueFrom, Subject, toArray } from 'rxjs';
import { punct, type AudioItem, type StreamItem } from '../toolkit/items.js';
import type { Logger } from '../toolkit/operator.js';
import { chunker, type ChunkerParams } from '../operators/chunker/index.js';
import { Reblocker } from '../operators/chunker/reblock.js';
import { FlowControl } from '../toolkit/runtime/flow.js';

const warnings: string[] = [];
const log: Logger = { info: () => {}, verbose: () => {}, warn: (m) => warnings.push(m) };

const ramp = (n: number, offset = 0) => Float32Array.from({ length: n }, (_, i) => i + offset);

/** Items for one stream: `samples` cut into blocks of the given sizes (cycled), then a punct. */
function blocks(streamId: string, samples: Float32Array, sizes: number[], rate = 1000): StreamItem[] {
  const out: StreamItem[] = [];
  for (let o = 0, k = 0; o < samples.length; k++) {
    const n = Math.max(1, sizes[k % sizes.length]!);
    out.push({ kind: 'audio', streamId, samples: samples.slice(o, o + n), sampleRate: rate, startSample: o });
    o += n;
  }
  out.push(punct(streamId));
  return out;
}

async function run(items: StreamItem[], params: Partial<ChunkerParams>): Promise<StreamItem[]> {
  return lastValueFrom(from(items).pipe(chunker(params, { log }), toArray()));
}

const audioOf = (items: StreamItem[], id?: string) => items.filter((i): i is AudioItem => i.kind === 'audio' && (!id || i.streamId === id));

describe('Chunker', () => {
  beforeEach(() => {
    warnings.length = 0;
  });

  it('re-blocks into exact chunks with exact startSample; emits the short last chunk', async () => {
    const out = await run(blocks('a', ramp(1050), [7, 300, 1]), { chunkMs: 160 }); // 160 samples at 1 kHz
    const audio = audioOf(out);
    expect(audio.map((a) => a.startSample)).to.deep.equal([0, 160, 320, 480, 640, 800, 960]);
    expect(audio.map((a) => a.samples.length)).to.deep.equal([160, 160, 160, 160, 160, 160, 90]);
    expect(Array.from(audio[6]!.samples.slice(0, 2))).to.deep.equal([960, 961]);
    expect(out.at(-1)).to.deep.equal(punct('a'));
  });

  it('last: pad pads with zeros to a full chunk; last: drop drops it', async () => {
    const padded = audioOf(await run(blocks('a', ramp(250, 1), [100]), { chunkMs: 100, last: 'pad' }));
    expect(padded.map((a) => a.samples.length)).to.deep.equal([100, 100, 100]);
    expect(Array.from(padded[2]!.samples.slice(48, 52))).to.deep.equal([249, 250, 0, 0]);
    const dropped = audioOf(await run(blocks('a', ramp(250), [100]), { chunkMs: 100, last: 'drop' }));
    expect(dropped.map((a) => a.startSample)).to.deep.equal([0, 100]);
  });

  it('overlapMs prepends lookback: chunk k starts at max(0, k*chunk - overlap)', async () => {
    const audio = audioOf(await run(blocks('a', ramp(400), [33]), { chunkMs: 100, overlapMs: 30 }));
    expect(audio.map((a) => [a.startSample, a.samples.length])).to.deep.equal([
      [0, 100],
      [70, 130],
      [170, 130],
      [270, 130],
    ]);
    for (const a of audio) expect(a.samples[0]).to.equal(a.startSample);
  });

  it('keeps interleaved streams apart and frees each at its punct', async () => {
    const a = blocks('a', ramp(300), [50]);
    const b = blocks('b', ramp(300, 1000), [70]);
    const mixed: StreamItem[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i]) mixed.push(a[i]!);
      if (b[i]) mixed.push(b[i]!);
    }
    const out = await run(mixed, { chunkMs: 100 });
    expect(audioOf(out, 'a').map((x) => x.samples[0])).to.deep.equal([0, 100, 200]);
    expect(audioOf(out, 'b').map((x) => x.samples[0])).to.deep.equal([1000, 1100, 1200]);
    expect(out.filter((i) => i.kind === 'punct').map((i) => i.streamId)).to.deep.equal(['b', 'a']); // b has fewer blocks
  });

  it('flushes at completion without a punct; passes errors and other kinds through', async () => {
    const items: StreamItem[] = [
      { kind: 'audio', streamId: 'x', samples: ramp(150), sampleRate: 1000, startSample: 0 },
      { kind: 'error', streamId: 'y', operator: 'FileSource', message: 'y: no such file' },
      punct('y'),
    ];
    const out = await run(items, { chunkMs: 100 });
    expect(out.map((i) => i.kind)).to.deep.equal(['audio', 'error', 'punct', 'audio']);
    expect(audioOf(out).map((a) => a.samples.length)).to.deep.equal([100, 50]);
  });

  it('fills gaps with zeros and drops repeated samples, keeping positions exact', async () => {
    const items: StreamItem[] = [
      { kind: 'audio', streamId: 'g', samples: ramp(60), sampleRate: 1000, startSample: 0 },
      { kind: 'audio', streamId: 'g', samples: ramp(60, 80), sampleRate: 1000, startSample: 80 },
      { kind: 'audio', streamId: 'g', samples: ramp(40, 120), sampleRate: 1000, startSample: 120 },
      punct('g'),
    ];
    const audio = audioOf(await run(items, { chunkMs: 100 }));
    expect(Array.from(audio[0]!.samples.slice(58, 82))).to.deep.equal([58, 59, ...new Array(20).fill(0), 80, 81]);
    expect(audio.map((a) => a.startSample + a.samples.length)).to.deep.equal([100, 160]);
    expect(audio[1]!.samples[0]).to.equal(100);
    expect(warnings).to.deep.equal(['g: 20 missing sample(s) filled with zeros', 'g: 20 repeated sample(s) dropped']);
  });

  it('fills a huge gap in chunk-sized steps: the buffer never grows to the gap (issue #16: one hostile start jump)', () => {
    const r = new Reblocker(1600, 400, 0);
    expect(r.push(new Float32Array(1600).fill(0.5), 0)).to.have.length(1);
    const gap = 10_000_000;
    const chunks = r.push(new Float32Array(800).fill(0.5), 1600 + gap);
    expect(chunks).to.have.length(gap / 1600);
    expect(chunks.every((c, k) => c.startSample === 1600 * (k + 1) - 400 && c.samples.length === 2000)).to.equal(true);
    expect(chunks.slice(1).every((c) => c.samples.every((v) => v === 0))).to.equal(true);
    expect(r.gapSamples).to.equal(gap);
    expect((r as unknown as { buf: Float32Array }).buf.length).to.be.at.most(2 * (1600 + 400));
  });

  it('fills a long gap under flow control: while the stages are full it waits after one step, then goes on in order', async () => {
    const flow = new FlowControl(4);
    const input = new Subject<StreamItem>();
    const out: AudioItem[] = [];
    let done = false;
    input.pipe(chunker({ chunkMs: 100 }, { flow })).subscribe({ next: (i) => i.kind === 'audio' && out.push(i), complete: () => (done = true) });
    flow.hold(4); // the stages downstream are at their high-water mark
    input.next({ kind: 'audio', streamId: 's', samples: new Float32Array(1600).fill(0.5), sampleRate: 16000, startSample: 0 });
    input.next({ kind: 'audio', streamId: 's', samples: new Float32Array(1600).fill(0.5), sampleRate: 16000, startSample: 1600 + 16000 * 600 }); // 10 min later
    input.next(punct('s'));
    input.complete();
    await new Promise((r) => setTimeout(r, 50));
    expect(out.length).to.equal(1 + 64); // the first block, then one step of the gap
    flow.release(4);
    while (!done) await new Promise((r) => setTimeout(r, 5));
    expect(out.length).to.equal(1 + 6000 + 1);
    expect(out.every((c, k) => c.startSample === 1600 * k)).to.equal(true);
    expect(out.at(-1)!.samples.every((v) => v === 0.5)).to.equal(true);
  });

  it("gaps: 'restart' ends the chunk before a gap and restarts the grid after it (no zeros, no lookback across)", async () => {
    const items: StreamItem[] = [
      { kind: 'audio', streamId: 'v', samples: ramp(130), sampleRate: 1000, startSample: 0 },
      { kind: 'audio', streamId: 'v', samples: ramp(120, 500), sampleRate: 1000, startSample: 500 },
      punct('v'),
    ];
    const audio = audioOf(await run(items, { chunkMs: 100, overlapMs: 20, gaps: 'restart' }));
    expect(audio.map((a) => [a.startSample, a.samples.length, a.samples[0]])).to.deep.equal([
      [0, 100, 0],
      [80, 50, 80],
      [500, 100, 500],
      [580, 40, 580],
    ]);
    expect(warnings).to.deep.equal([]);
  });

  it('a sample rate change ends that stream with an error', async () => {
    const out = await run(
      [
        { kind: 'audio', streamId: 's', samples: ramp(10), sampleRate: 1000, startSample: 0 },
        { kind: 'audio', streamId: 's', samples: ramp(10), sampleRate: 2000, startSample: 10 },
        punct('s'),
      ],
      { chunkMs: 100 },
    );
    expect(out).to.deep.equal([{ kind: 'error', streamId: 's', operator: 'Chunker', message: 'sample rate changed within the stream (1000 Hz -> 2000 Hz)' }, punct('s')]);
  });

  it('forwards utterance markers after the chunk covering the samples before them', async () => {
    const mark = (event: 'start' | 'end', sampleIndex: number): StreamItem => ({
      kind: 'utterance',
      streamId: 'u',
      event,
      utteranceNumber: 1,
      sampleIndex,
      sampleRate: 1000,
      startMs: sampleIndex,
      endMs: sampleIndex,
    });
    const input: StreamItem[] = [
      mark('start', 0),
      { kind: 'audio', streamId: 'u', samples: ramp(150), sampleRate: 1000, startSample: 0 },
      mark('end', 120),
      { kind: 'audio', streamId: 'u', samples: ramp(100, 150), sampleRate: 1000, startSample: 150 },
      mark('start', 240),
      punct('u'),
    ];
    const out = await run(input, { chunkMs: 100 });
    expect(out.map((i) => (i.kind === 'audio' ? `audio@${i.startSample}` : i.kind === 'utterance' ? `${i.event}@${i.sampleIndex}` : i.kind))).to.deep.equal([
      'start@0',
      'audio@0',
      'audio@100',
      'end@120',
      'audio@200',
      'start@240',
      'punct',
    ]);
  });

  it('property: no sample lost or duplicated for random block/chunk/overlap sizes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 0, max: 600 }),
        fc.constantFrom<'emit' | 'pad' | 'drop'>('emit', 'pad', 'drop'),
        async (n, sizes, chunk, overlap, last) => {
          const x = ramp(n, 1);
          const audio = audioOf(await run(blocks('p', x, sizes), { chunkMs: chunk, overlapMs: overlap, last }));
          // New samples (beyond each chunk's lookback) tile the stream exactly.
          let next = 0;
          for (const [k, a] of audio.entries()) {
            const lookback = Math.min(overlap, k * chunk);
            expect(a.startSample).to.equal(k * chunk - lookback);
            for (let i = 0; i < a.samples.length; i++) {
              const pos = a.startSample + i;
              if (a.samples[i] !== (pos < n ? x[pos] : 0)) throw new Error(`chunk ${k} sample ${i} (at ${pos}) is ${a.samples[i]}`);
            }
            const isLast = k === audio.length - 1;
            expect(a.samples.length - lookback).to.equal(isLast && last === 'emit' ? Math.min(chunk, n - next) : chunk);
            next += Math.min(chunk, n - next);
          }
          const expected = last === 'drop' ? Math.floor(n / chunk) * chunk : n;
          expect(next).to.equal(expected);
        },
      ),
      { numRuns: 500 },
    );
  });
});
