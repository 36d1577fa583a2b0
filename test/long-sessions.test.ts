/**
 * Long recordings and long live sessions, on a 10-minute recording made of the shipped clips (≥ 100
 * utterances, test/helpers/long-recording.ts), with the bundled model:
 * - word times: every word inside its utterance and inside the file, in every graph that gives word
 *   times and for both dropNonSpeech settings; no drift from utterance to utterance; subtitle cues inside
 *   the file, never shorter than their words nor than 200 ms;
 * - a full-speed WebSocket upload is transcribed whole (flow control: nothing dropped), exactly as the
 *   file graph transcribes the file, and its messages stay small (bytes grow linearly with duration).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import { CLOSE, waitForServer } from '../operators/websocket/index.js';
import type { StreamItem, TranscriptItem } from '../toolkit/items.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';
import { longRecording } from './helpers/long-recording.js';
import { parseSrtStrict } from './helpers/subtitle-check.js';
import { stream, type ServerMessage } from './helpers/ws-client.js';

const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };

/** Runs a graph file to completion: the items it emitted and what its Sink wrote. */
async function runGraph(graph: string, params: Record<string, string>): Promise<{ finals: TranscriptItem[]; text: string }> {
  const out = join(mkdtempSync(join(tmpdir(), 'long-sessions-')), 'out.txt');
  const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs', graph), { registry: OPERATORS, params: { ...params, out } });
  const items: StreamItem[] = [];
  const r = await runPlan(plan, { log: silent, collect: items });
  expect(r.errors, JSON.stringify(r.errors)).to.deep.equal([]);
  return { finals: items.filter((i): i is TranscriptItem => i.kind === 'transcript' && i.isFinal), text: readFileSync(out, 'utf8') };
}

type Final = Pick<TranscriptItem, 'text' | 'utteranceNumber' | 'startMs' | 'endMs' | 'words'>;

/** Every word inside the file and (for utterance finals) inside its utterance. */
function expectWordsInside(finals: Final[], durationMs: number, what: string): void {
  let words = 0;
  for (const f of finals) {
    const at = `${what}: utterance ${f.utteranceNumber} [${f.startMs}, ${f.endMs}]`;
    if (f.utteranceNumber > 0) expect(f.endMs, at).to.be.at.most(durationMs);
    for (const w of f.words ?? []) {
      const word = `${at}: word '${w.word}' [${w.startMs}, ${w.endMs}]`;
      expect(w.startMs, word).to.be.at.least(0);
      expect(w.endMs, word).to.be.at.least(w.startMs);
      expect(w.endMs, word).to.be.at.most(durationMs);
      if (f.utteranceNumber > 0) {
        expect(w.startMs, word).to.be.at.least(f.startMs);
        expect(w.endMs, word).to.be.at.most(f.endMs);
      }
      words++;
    }
  }
  expect(words, `${what}: words`).to.be.greaterThan(0);
}

/** Cues inside the file, at least 200 ms long, each covering the words it shows (in order). */
function expectCuesCoverWords(srt: string, finals: Final[], durationMs: number, what: string): number {
  const cues = parseSrtStrict(srt);
  const words = finals.flatMap((f) => f.words ?? []).filter((w) => w.word.trim());
  let next = 0;
  let shortest = Infinity;
  for (const c of cues) {
    const at = `${what}: cue ${c.startMs} --> ${c.endMs} '${c.lines.join(' ')}'`;
    expect(c.startMs, at).to.be.at.least(0);
    expect(c.endMs, at).to.be.at.most(Math.ceil(durationMs));
    shortest = Math.min(shortest, c.endMs - c.startMs);
    const shown = c.lines.join(' ').split(' ').length;
    const mine = words.slice(next, next + shown);
    next += shown;
    expect(mine.map((w) => w.word).join(' '), at).to.equal(c.lines.join(' '));
    expect(c.startMs, at).to.be.at.most(Math.round(mine[0].startMs));
    expect(c.endMs, at).to.be.at.least(Math.round(mine.at(-1)!.endMs));
  }
  expect(next, `${what}: words shown in cues`).to.equal(words.length);
  expect(shortest, `${what}: shortest cue`).to.be.at.least(200);
  return shortest;
}

describe('long recordings: word times and subtitles (10 minutes, ≥ 100 utterances)', function () {
  this.timeout(600000);
  const rec = longRecording(10);
  const byDrop = new Map<boolean, Final[]>();

  for (const dropNonSpeech of [false, true]) {
    it(`graphs/long-recording.yaml, dropNonSpeech ${dropNonSpeech}: words inside their utterances and the file; cues cover their words, none under 200 ms`, async () => {
      const { finals, text } = await runGraph('long-recording.yaml', { audio: rec.path, format: 'srt', dropNonSpeech: String(dropNonSpeech) });
      expect(rec.clips).to.be.at.least(100);
      expect(finals.length).to.equal(rec.clips);
      expectWordsInside(finals, rec.durationMs, `dropNonSpeech ${dropNonSpeech}`);
      const shortest = expectCuesCoverWords(text, finals, rec.durationMs, `dropNonSpeech ${dropNonSpeech}`);
      byDrop.set(dropNonSpeech, finals);
      console.log(`      ${finals.length} utterances in ${(rec.durationMs / 60000).toFixed(1)} min; shortest SRT cue ${shortest} ms`);
    });
  }

  it('no drift: the first word of every utterance starts at the same time with and without the audio between utterances', function () {
    const [a, b] = [byDrop.get(false), byDrop.get(true)];
    if (!a || !b) this.skip();
    // Without dropNonSpeech the model also runs between utterances; each utterance's words must still be
    // timed from its own start (the drift this guards against grew by about 25 ms per utterance).
    let compared = 0;
    a.forEach((x, k) => {
      const y = b[k];
      expect([x.utteranceNumber, x.startMs, x.endMs]).to.deep.equal([y.utteranceNumber, y.startMs, y.endMs]);
      if (!x.words?.length || !y.words?.length) return;
      expect(Math.abs(x.words[0].startMs - y.words[0].startMs), `utterance ${x.utteranceNumber}`).to.be.at.most(120);
      compared++;
    });
    expect(compared).to.be.at.least(100);
  });

  it('graphs/onnx-stt.yaml (no endpointing): words inside the file', async () => {
    const { finals } = await runGraph('onnx-stt.yaml', { audio: rec.path, format: 'jsonl', partials: 'false' });
    expect(finals.length).to.equal(1);
    expectWordsInside(finals, rec.durationMs, 'onnx-stt.yaml');
  });

  describe('graphs/ws-server.yaml: a 10-minute upload at full speed', () => {
    for (const dropNonSpeech of [false, true]) {
      it(`dropNonSpeech ${dropNonSpeech}: transcribed whole, as the file graph does; nothing dropped; messages ≤ 8 KB, bytes linear in duration`, async () => {
        const server = `long-${dropNonSpeech}`;
        const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/ws-server.yaml'), { registry: OPERATORS, params: { port: '0', server, dropNonSpeech: String(dropNonSpeech) } });
        const abort = new AbortController();
        const run = runPlan(plan, { log: silent, signal: abort.signal });
        const live = await waitForServer(server);
        let r;
        try {
          r = await stream(live.url, rec.samples, { frameBytes: 32000 });
          expect(live.stats().pauses, 'the server paused reading the socket while the pipeline was behind').to.be.greaterThan(0);
        } finally {
          abort.abort();
          await run;
          await live.whenClosed();
        }
        expect(r.code).to.equal(CLOSE.NORMAL);
        const end = r.messages.at(-1)!;
        expect(end.type).to.equal('end');
        expect(r.messages.some((m) => m.type === 'dropped')).to.equal(false);
        expect(end.droppedMs).to.equal(0);
        expect(end.audioMs).to.equal(Math.round(rec.durationMs));

        // The same transcript, utterances and word times as the file graph.
        const finals = r.messages.filter((m) => m.type === 'final') as unknown as Final[];
        const file = byDrop.get(dropNonSpeech) ?? (await runGraph('long-recording.yaml', { audio: rec.path, format: 'jsonl', dropNonSpeech: String(dropNonSpeech) })).finals;
        const shape = (fs: Final[]) => fs.map((f) => ({ n: f.utteranceNumber, text: f.text, span: [f.startMs, f.endMs], words: (f.words ?? []).map((w) => [w.word, w.startMs, w.endMs]) }));
        expect(shape(finals)).to.deep.equal(shape(file));
        expect(end.finals).to.equal(finals.length);
        expectWordsInside(finals, rec.durationMs, `ws-server.yaml dropNonSpeech ${dropNonSpeech}`);

        // Bounded messages: the largest stays small, and the second half of the session costs what the first did.
        const largest = Math.max(...r.sizes);
        expect(largest).to.be.at.most(8192);
        const half = rec.durationMs / 2;
        let first = 0;
        let second = 0;
        r.messages.forEach((m: ServerMessage, k) => {
          if (m.type !== 'partial' && m.type !== 'final') return;
          if (Number(m.endMs) <= half) first += r.sizes[k];
          else second += r.sizes[k];
        });
        expect(second / first).to.be.within(0.8, 1.25);
        const total = r.sizes.reduce((a, x) => a + x, 0);
        console.log(
          `      ${r.messages.length} messages, ${(total / 1024).toFixed(0)} KiB (${((total / 1024) / (rec.durationMs / 60000)).toFixed(1)} KiB per session-minute), ` +
            `largest ${largest} B; halves ${(first / 1024).toFixed(0)} / ${(second / 1024).toFixed(0)} KiB`,
        );
      });
    }
  });
});
