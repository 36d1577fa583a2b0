import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import type { StreamItem, TranscriptItem } from '../toolkit/items.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { cer } from './helpers/live.js';

/**
 * The bundled model through the shipped graph on the shipped clips: one real human voice (LibriVox)
 * and one synthetic voice the model never heard in training (flite slt). The bounds are the CERs
 * measured for this build (see models/stt-en-char-fastconformer-ctc/MODEL_CARD.md) plus a small margin,
 * so a regression in any stage (features, caches, decoding) fails here.
 */
// Measured with the v2 build (issue 15): 41.7 % and 25.6 %; v1 (step 19286): 30.6 % and 34.9 % (step 13528:
// 33.3 % and 48.8 %; step 4973: 55.6 % and 69.8 %). v2 is better on the held-out sets as a whole (LibriVox
// 77.5 % WER over its 5 clips against v1's 80.3 %, see the model card) but worse on this one 3-second clip,
// so its bound follows the new measurement; the flite bound is tightened. An empty or garbage transcript
// is ~100 %.
const MAX_CER: Record<string, number> = {
  'librivox-0880.wav': 0.45,
  'flite-slt-fox.wav': 0.3,
};

const audioDir = join(TOOLKIT_ROOT, 'samples', 'audio');
const references = new Map(
  readFileSync(join(audioDir, 'transcripts.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split('\t') as [string, string]),
);

async function transcribe(chunkMs: number): Promise<Map<string, string>> {
  const out = join(mkdtempSync(join(tmpdir(), 'bundled-')), 'out.jsonl');
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs', 'onnx-stt.yaml'), {
    registry: OPERATORS,
    params: { audio: join(audioDir, '*.wav'), chunkMs: String(chunkMs), out },
  });
  const items: StreamItem[] = [];
  const result = await runPlan(plan, { collect: items });
  expect(result.errors).to.deep.equal([]);
  const finals = items.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal);
  return new Map(finals.map((t) => [t.streamId.split('/').pop()!, t.text]));
}

describe('bundled model through graphs/onnx-stt.yaml', function () {
  this.timeout(120000);
  let at160: Map<string, string>;

  before(async () => {
    at160 = await transcribe(160);
  });

  for (const [clip, bound] of Object.entries(MAX_CER)) {
    it(`transcribes ${clip} within CER ${Math.round(bound * 100)}%`, () => {
      const hyp = at160.get(clip);
      expect(hyp, `no final transcript for ${clip}`).to.be.a('string');
      const rate = cer(hyp!, references.get(clip)!);
      console.log(`      ${clip}: "${hyp}" (CER ${(rate * 100).toFixed(1)}%)`);
      expect(rate).to.be.at.most(bound);
    });
  }

  it('gives the same transcripts whatever the chunk size (streaming == offline-sized chunks)', async () => {
    const at1000 = await transcribe(1000);
    const at30 = await transcribe(30);
    expect(at1000).to.deep.equal(at160);
    expect(at30).to.deep.equal(at160);
  });
});
