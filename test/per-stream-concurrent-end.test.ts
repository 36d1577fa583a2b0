import { expect } from 'chai';
import { Subject, from, lastValueFrom, toArray } from 'rxjs';
import { punct, type AudioItem, type StreamItem } from '../toolkit/items.js';
import { perStream } from '../toolkit/runtime/per-stream.js';

const audio = (streamId: string, v: number): AudioItem => ({ kind: 'audio', streamId, samples: Float32Array.of(v), sampleRate: 16000, startSample: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sums each stream's samples; the end is slow (endMs) and emits the sum; optional failure at the end. */
function slowEnd(opts: { concurrent: boolean; endMs: number; released: string[]; failEnd?: string; slowId?: string }) {
  return perStream<{ id: string; sum: number }>({
    operator: 'SlowEnd',
    accepts: ['audio'],
    endsConcurrently: () => opts.concurrent,
    open: (id) => ({ id, sum: 0 }),
    onItem: (s, item) => {
      s.sum += (item as AudioItem).samples[0];
    },
    onEnd: async (s, emit) => {
      await sleep(s.id === opts.slowId ? opts.endMs * 4 : opts.endMs);
      if (s.id === opts.failEnd) throw new Error('flush failed');
      emit({ kind: 'transcript', streamId: s.id, text: String(s.sum), isFinal: true, confidence: 1, utteranceNumber: 0, startMs: 0, endMs: 0 });
    },
    release: (s) => opts.released.push(s.id),
  });
}

describe('perStream: endsConcurrently (a stream flushing asynchronously does not stall the others)', () => {
  it("the other streams' items go on while a stream ends; its result and punct follow its flush; completion waits for it", async () => {
    const released: string[] = [];
    const input = new Subject<StreamItem>();
    const done = lastValueFrom(input.pipe(slowEnd({ concurrent: true, endMs: 20, released, slowId: 'a' }), toArray()));
    input.next(audio('a', 1));
    input.next(punct('a'));
    input.next(audio('b', 2));
    input.next(audio('b', 3));
    input.next(punct('b'));
    input.complete();
    const out = await done;
    const kinds = out.map((i) => `${i.streamId}:${i.kind}${i.kind === 'transcript' ? `=${i.text}` : ''}`);
    // Both ends ran at the same time, each stream's result precedes its punct, and nothing is lost.
    expect(kinds).to.have.members(['a:transcript=1', 'a:punct', 'b:transcript=5', 'b:punct']);
    expect(kinds.indexOf('a:transcript=1')).to.be.below(kinds.indexOf('a:punct'));
    expect(kinds.indexOf('b:transcript=5')).to.be.below(kinds.indexOf('b:punct'));
    // a's slow end (80 ms) did not hold up b: b was flushed and ended first.
    expect(kinds.indexOf('b:punct')).to.be.below(kinds.indexOf('a:punct'));
    expect(released.sort()).to.deep.equal(['a', 'b']);
  });

  it('without it (the default) an asynchronous end holds up the items behind it', async () => {
    const released: string[] = [];
    const t0 = Date.now();
    const out = await lastValueFrom(from([audio('a', 1), punct('a'), audio('b', 2), punct('b')]).pipe(slowEnd({ concurrent: false, endMs: 100, released }), toArray()));
    expect(out.map((i) => `${i.streamId}:${i.kind}`)).to.deep.equal(['a:transcript', 'a:punct', 'b:transcript', 'b:punct']);
    expect(Date.now() - t0).to.be.at.least(195);
  });

  it('a failed concurrent end gives that stream an error record before its punct; a reused id starts a new stream', async () => {
    const released: string[] = [];
    const out = await lastValueFrom(
      from([audio('a', 1), punct('a'), audio('a', 7), punct('a'), audio('b', 2), punct('b')]).pipe(slowEnd({ concurrent: true, endMs: 30, released, failEnd: 'b' }), toArray()),
    );
    const a = out.filter((i) => i.streamId === 'a').map((i) => (i.kind === 'transcript' ? i.text : i.kind));
    expect(a).to.have.members(['1', '7', 'punct', 'punct']);
    const b = out.filter((i) => i.streamId === 'b').map((i) => i.kind);
    expect(b).to.deep.equal(['error', 'punct']);
    expect(released.sort()).to.deep.equal(['a', 'a', 'b']);
  });

  it('unsubscribing releases the streams still ending', async () => {
    const released: string[] = [];
    const input = new Subject<StreamItem>();
    const sub = input.pipe(slowEnd({ concurrent: true, endMs: 200, released })).subscribe();
    input.next(audio('x', 1));
    input.next(punct('x'));
    await sleep(20);
    sub.unsubscribe();
    expect(released).to.deep.equal(['x']);
    await sleep(250);
    expect(released).to.deep.equal(['x']); // not twice
  });
});
