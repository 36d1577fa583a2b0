import { expect } from 'chai';
import { from, lastValueFrom, toArray } from 'rxjs';
import { punct, type AudioItem, type StreamItem } from '../toolkit/items.js';
import { FlowControl } from '../toolkit/runtime/flow.js';
import { perStream } from '../toolkit/runtime/per-stream.js';

const audio = (streamId: string, values: number[]): AudioItem => ({
  kind: 'audio',
  streamId,
  samples: Float32Array.from(values),
  sampleRate: 16000,
  startSample: 0,
});

/** A real stateful operator for the test: sums each stream's samples, emits the sum at the end. */
function summing(opts: { async?: boolean; failOn?: number; released?: string[]; flow?: FlowControl } = {}) {
  return perStream<{ id: string; sum: number }>({
    operator: 'Sum',
    accepts: ['audio'],
    flow: opts.flow,
    open: (id) => ({ id, sum: 0 }),
    onItem: (state, item) => {
      const run = () => {
        for (const v of (item as AudioItem).samples) {
          if (v === opts.failOn) throw new Error(`bad sample ${v}`);
          state.sum += v;
        }
      };
      return opts.async ? new Promise<void>((r) => setTimeout(() => (run(), r()), 1)) : run();
    },
    onEnd: (state, emit) => emit({ ...audio(state.id, [state.sum]) }),
    release: (state) => opts.released?.push(state.id),
  });
}

const sums = (items: StreamItem[]) =>
  items.filter((i): i is AudioItem => i.kind === 'audio').map((i) => `${i.streamId}=${i.samples[0]}`);

describe('perStream', () => {
  for (const async of [false, true]) {
    it(`keeps interleaved streams apart and flushes each at its punctuation (${async ? 'async' : 'sync'})`, async () => {
      const released: string[] = [];
      const items: StreamItem[] = [audio('a', [1, 2]), audio('b', [10]), audio('a', [3]), punct('a'), audio('b', [20]), punct('b')];
      const out = await lastValueFrom(from(items).pipe(summing({ async, released }), toArray()));
      expect(sums(out)).to.deep.equal(['a=6', 'b=30']);
      expect(out.map((i) => i.kind)).to.deep.equal(['audio', 'punct', 'audio', 'punct']);
      expect(released).to.deep.equal(['a', 'b']);
    });
  }

  it('flushes streams left open at completion (final punctuation)', async () => {
    const out = await lastValueFrom(from([audio('a', [1]), audio('b', [2])]).pipe(summing(), toArray()));
    expect(sums(out)).to.deep.equal(['a=1', 'b=2']);
  });

  it('turns a throw into an error record for that stream only', async () => {
    const items: StreamItem[] = [audio('a', [1]), audio('bad', [-1]), audio('bad', [5]), audio('a', [2]), punct('bad'), punct('a')];
    const out = await lastValueFrom(from(items).pipe(summing({ failOn: -1 }), toArray()));
    expect(out.filter((i) => i.kind === 'error')).to.deep.equal([{ kind: 'error', streamId: 'bad', operator: 'Sum', message: 'bad sample -1' }]);
    expect(sums(out)).to.deep.equal(['a=3']);
    expect(out.filter((i) => i.kind === 'punct').map((i) => i.streamId)).to.deep.equal(['bad', 'a']);
  });

  it('passes through items it does not consume and upstream errors, in order', async () => {
    const transcript: StreamItem = { kind: 'transcript', streamId: 'a', text: 'x', isFinal: true, confidence: 1, utteranceNumber: 0, startMs: 0, endMs: 0 };
    const items: StreamItem[] = [transcript, { kind: 'error', streamId: 'c', operator: 'Up', message: 'gone' }, punct('c')];
    const out = await lastValueFrom(from(items).pipe(summing(), toArray()));
    expect(out.map((i) => i.kind)).to.deep.equal(['transcript', 'error', 'punct']);
  });

  it('counts queued items in the flow control while an async stage is busy', async () => {
    const flow = new FlowControl(4);
    const items = Array.from({ length: 20 }, (_, i) => audio('a', [i]));
    let readyResolved = false;
    const done = lastValueFrom(from(items).pipe(summing({ async: true, flow }), toArray()));
    // from() pushed everything synchronously; the first item is running, the rest wait.
    expect(flow.pending).to.equal(19);
    const ready = flow.ready().then(() => (readyResolved = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(readyResolved).to.equal(false);
    const out = await done;
    await ready;
    expect(sums(out)).to.deep.equal(['a=190']);
    expect(flow.pending).to.equal(0);
  });
});
