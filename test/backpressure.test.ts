/**
 * Backpressure (docs/reliability.md): a slow stage never lets queued audio grow without bound. File
 * sources wait on the graph's FlowControl before each block, so with a sink that sleeps per item the
 * queue stays at the high-water mark and every sample still arrives, in order. The same graph without
 * flow control queues most of the file: the test can fail.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { lastValueFrom, type OperatorFunction } from 'rxjs';
import { chunker } from '../operators/chunker/index.js';
import { fileSource } from '../operators/file-source/index.js';
import type { AudioItem, StreamItem } from '../toolkit/items.js';
import type { Logger } from '../toolkit/operator.js';
import { FlowControl } from '../toolkit/runtime/flow.js';
import { perStream } from '../toolkit/runtime/per-stream.js';
import { makeWav } from './helpers/wav-writer.js';

const silent: Logger = { info: () => {}, warn: () => {}, verbose: () => {} };

/** FlowControl that remembers the most items ever held at once. */
class MeasuredFlow extends FlowControl {
  max = 0;
  override hold(n = 1): void {
    super.hold(n);
    this.max = Math.max(this.max, this.pending);
  }
}

/** A sink stage that sleeps per item (a slow model or a slow disk) and checks every sample arrives in order. */
function sleepySink(flow: FlowControl, sleepMs: number, seen: { samples: number; items: number; sum: number; ended: boolean }): OperatorFunction<StreamItem, StreamItem> {
  return perStream<{ next: number }>({
    operator: 'SleepySink',
    accepts: ['audio'],
    flow,
    open: () => ({ next: 0 }),
    onItem: async (st, item) => {
      const a = item as AudioItem;
      if (a.startSample !== st.next) throw new Error(`gap: chunk at ${a.startSample}, expected ${st.next}`);
      st.next += a.samples.length;
      seen.samples += a.samples.length;
      seen.items++;
      for (const v of a.samples) seen.sum += v;
      await new Promise((r) => setTimeout(r, sleepMs));
    },
    onEnd: () => {
      seen.ended = true;
    },
  });
}

describe('backpressure: a slow sink and a long file', function () {
  this.timeout(60000);
  const SECONDS = 60;
  const RATE = 16000;
  let file: string;
  let expectedSum = 0;

  before(() => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'backpressure-'));
    file = path.join(dir, 'long.wav');
    // 60 s of a ramp-modulated tone, 16-bit: every sample distinct enough that a lost block changes the sum.
    const x = Float32Array.from({ length: SECONDS * RATE }, (_, i) => 0.5 * Math.sin(i * 0.013) * ((i % 1000) / 1000));
    fs.writeFileSync(file, makeWav({ sampleRate: RATE, channels: [x] }));
    const q = Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));
    for (const v of q) expectedSum += Math.fround(v / 32768);
  });

  async function run(flowControlled: boolean) {
    const HIGH_WATER = 8;
    // The sink reports what it queues to `stageFlow`; the source waits on `sourceFlow`. With flow
    // control they are one object (as in a graph run); without, the source never waits.
    const stageFlow = new MeasuredFlow(HIGH_WATER);
    const sourceFlow = flowControlled ? stageFlow : new FlowControl(HIGH_WATER);
    const seen = { samples: 0, items: 0, sum: 0, ended: false };
    const t0 = Date.now();
    await lastValueFrom(fileSource({ files: file, blockMs: 100 }, { log: silent, flow: sourceFlow }).pipe(chunker({ chunkMs: 160 }, { log: silent }), sleepySink(stageFlow, 2, seen)), { defaultValue: undefined });
    return { seen, maxQueued: stageFlow.max, seconds: (Date.now() - t0) / 1000, highWater: HIGH_WATER };
  }

  it('file source blocks: queued items stay at the FlowControl high-water mark, and no sample is lost', async () => {
    const r = await run(true);
    expect(r.seen.samples).to.equal(SECONDS * RATE);
    expect(r.seen.items).to.equal((SECONDS * 1000) / 160);
    expect(r.seen.ended).to.equal(true);
    expect(r.seen.sum).to.be.closeTo(expectedSum, 1e-3);
    // The source waits while the sink holds HIGH_WATER items; one 100 ms block makes at most one 160 ms chunk.
    expect(r.maxQueued).to.be.at.most(r.highWater + 1);
    console.log(`      flow control: at most ${r.maxQueued} items queued (high water ${r.highWater}), ${r.seen.items} chunks, ${r.seconds.toFixed(1)} s`);
  });

  it('a 3-hour file streams through with bounded memory (sparse file: 345 MB of PCM, 691 MB as float32)', async () => {
    const n = 3 * 3600 * RATE;
    const big = path.join(path.dirname(file), 'three-hours.wav');
    const hdr = makeWav({ sampleRate: RATE, channels: [new Float32Array(0)], dataSizeField: n * 2, riffSizeField: 36 + n * 2 });
    const fd = fs.openSync(big, 'w');
    fs.writeSync(fd, hdr);
    fs.ftruncateSync(fd, hdr.length + n * 2); // sparse: no disk blocks, reads as silence
    fs.closeSync(fd);
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    let next = 0;
    let items = 0;
    await new Promise<void>((resolve, reject) =>
      fileSource({ files: big, blockMs: 1000 }, { log: silent }).subscribe({
        next: (i) => {
          if (i.kind !== 'audio') return;
          if (i.startSample !== next) reject(new Error(`gap at ${next}`));
          next += i.samples.length;
          if (++items % 200 === 0) peak = Math.max(peak, process.memoryUsage().rss);
        },
        error: reject,
        complete: resolve,
      }),
    );
    fs.rmSync(big);
    expect(next).to.equal(n);
    expect((peak - rss0) / 1e6, 'RSS growth (MB)').to.be.below(200);
  });

  it('without flow control the same graph queues most of the file (so the test above can fail)', async () => {
    const r = await run(false);
    expect(r.seen.samples).to.equal(SECONDS * RATE);
    expect(r.maxQueued).to.be.above(20 * r.highWater);
    console.log(`      no flow control: up to ${r.maxQueued} items queued`);
  });
});
