/**
 * CtcDecoder: log-probs in, transcripts out.
 *
 * Greedy by default (argmax, repeats merged across chunk boundaries, blanks dropped), or CTC prefix
 * beam search with `beamWidth` > 1, optional `hotwords` and an optional word n-gram language model (`lm`, ARPA). Tokens come from `tokens.txt` ("piece id")
 * or a vocab JSON. Partial results (`isFinal: false`) are emitted while a stream runs, at most one per
 * `partialIntervalMs` of stream time and only when the text changed; a final one at the stream's window
 * punctuation (an empty final for a stream that produced no frames).
 *
 * Utterances: behind a VadSegmenter the stream carries utterance markers. The search restarts at each
 * marker, and each utterance gets one final at its end marker, with its `utteranceNumber` and the
 * marker's `startMs`/`endMs` (ms from the stream's start); partials carry the open utterance's number.
 * Audio between utterances (when VadSegmenter passes it on) yields no results. Without markers the
 * whole stream is one result with utteranceNumber 0, final at the stream's end.
 *
 * Confidence: each emitted token's confidence is the highest per-frame probability it had over the frames
 * it was emitted on; a word's confidence is the mean over its tokens, a result's the mean over all its
 * tokens. A result with no tokens reports the mean blank probability of its frames (how sure the model is
 * that nothing was said), 0 when there were no frames. Word times: first token frame x frame shift to
 * (last token frame + 1) x frame shift, in ms from the stream's start, kept inside the utterance's span.
 *
 * @example
 * ```ts
 * logprobs$.pipe(ctcDecoder({ tokens: 'models/stt-en-char-fastconformer-ctc/tokens.txt', partialIntervalMs: 500 }))
 * ```
 */
import type { LogprobsItem, TranscriptItem, UtteranceItem, WordTiming } from '../../toolkit/items.js';
import { stageFactory, type StageSpec } from '../../toolkit/operator.js';
import { perStream } from '../../toolkit/runtime/per-stream.js';
import { ArpaLm } from './lm.js';
import { BeamSearch, GreedySearch, type LmFusion, type Search, type SearchSnapshot, type Token } from './search.js';

const lms = new Map<string, ArpaLm>();
/** One parsed model per file for the whole process (several decoders, graph checks, reruns). */
function loadLm(path: string): ArpaLm {
  let lm = lms.get(path);
  if (!lm) lms.set(path, (lm = ArpaLm.load(path)));
  return lm;
}
import { Vocabulary } from './vocabulary.js';

export interface CtcDecoderParams {
  tokens: string;
  blankId?: number;
  beamWidth: number;
  hotwords: string[];
  hotwordBoost: number;
  partials: boolean;
  partialIntervalMs: number;
  words: boolean;
  lm: string;
  lmWeight: number;
  wordBonus: number;
  unkPenalty: number;
}

export interface DecodedText {
  text: string;
  words: WordTiming[];
  confidence: number;
}

/** Turns tokens into text and word timings (see the module comment for timing and confidence). */
export function tokensToText(tokens: Token[], vocab: Vocabulary, frameShiftMs: number): DecodedText {
  const words: Array<{ text: string; start: number; end: number; probs: number[] }> = [];
  let cur: (typeof words)[number] | undefined;
  const probs: number[] = [];
  for (const t of tokens) {
    if (vocab.isSpecial(t.id)) continue;
    probs.push(t.prob);
    if (vocab.isBoundary(t.id)) {
      cur = undefined;
      continue;
    }
    if (!cur || vocab.startsWord(t.id)) {
      cur = { text: '', start: t.startFrame, end: t.endFrame, probs: [] };
      words.push(cur);
    }
    cur.text += vocab.text(t.id);
    cur.end = t.endFrame;
    cur.probs.push(t.prob);
  }
  const mean = (a: number[]) => (a.length ? a.reduce((s, x) => s + x, 0) / a.length : 0);
  const ws = words
    .filter((w) => w.text.length)
    .map((w) => ({ word: w.text, startMs: w.start * frameShiftMs, endMs: (w.end + 1) * frameShiftMs, confidence: mean(w.probs) }));
  return { text: ws.map((w) => w.word).join(' '), words: ws, confidence: mean(probs) };
}

/**
 * Keeps word times inside their utterance's span. Word times are whole model frames (40 ms for the
 * bundled model) and an utterance's last window is zero-padded, so a word may reach up to one frame past
 * the sample-exact span VadSegmenter measured; subtitle cues and clients expect words inside it.
 */
function clampWords(words: WordTiming[], startMs: number, endMs: number): void {
  for (const w of words) {
    w.startMs = Math.min(Math.max(w.startMs, startMs), endMs);
    w.endMs = Math.min(Math.max(w.endMs, w.startMs), endMs);
  }
}

/** Stream time decoded by the CtcDecoders of this process (progress displays). */
export const decoderStats = { audioMs: 0 };

interface State {
  id: string;
  search?: Search;
  /** Stream output frames seen (one past the last). */
  frames: number;
  /** Frames of the current segment (utterance, or stretch between utterances). */
  segFrames: number;
  frameShiftMs: number;
  blankProbSum: number;
  lastPartialMs: number;
  lastPartialText: string;
  /** The open utterance (between its start and end markers). */
  utterance?: { number: number; startMs: number };
  /** Markers seen: results are per utterance only. */
  markers: boolean;
}

type Snapshot = Omit<State, 'search'> & { search?: SearchSnapshot };

export const CtcDecoder: StageSpec<CtcDecoderParams> = {
  kind: 'CtcDecoder',
  role: 'stage',
  description: 'CTC decoding (greedy, or prefix beam search with hotwords) of log-probs into partial and final transcripts with word timings.',
  input: ['logprobs'],
  output: 'transcript',
  pathParams: ['tokens', 'lm'],
  params: {
    type: 'object',
    required: ['tokens'],
    properties: {
      tokens: { type: 'string', description: 'tokens.txt ("piece id" lines) or a vocab JSON ({"piece": id} or a list).' },
      blankId: { type: 'integer', minimum: 0, description: 'Blank id; default: the one OnnxSTT reports for the model contract.' },
      beamWidth: { type: 'integer', minimum: 1, default: 1, description: '1 = greedy; > 1 = CTC prefix beam search.' },
      hotwords: { type: 'array', items: { type: 'string' }, default: [], description: 'Words or phrases to favour (beam search only).' },
      hotwordBoost: { type: 'number', minimum: 0, default: 1.5, description: 'Log-score bonus per hotword token.' },
      lm: { type: 'string', default: '', description: "Word n-gram language model (ARPA, plain or .gz) fused into the beam search; '' = none. Needs beamWidth > 1." },
      lmWeight: { type: 'number', minimum: 0, default: 0.5, description: 'Weight of the language model log-probability per word.' },
      wordBonus: { type: 'number', default: 1, description: 'Score added per completed word (balances the LM against deletions).' },
      unkPenalty: { type: 'number', maximum: 0, default: -10, description: 'Score of a word the LM does not know (applied as soon as the letters cannot start a known word).' },
      partials: { type: 'boolean', default: true, description: 'Emit partial results while a stream runs.' },
      partialIntervalMs: { type: 'number', minimum: 0, default: 500, description: 'At most one partial per this much stream time.' },
      words: { type: 'boolean', default: true, description: 'Attach word timings to results.' },
    },
  },
  check: (p) => {
    try {
      Vocabulary.load(p.tokens);
      if (p.lm) {
        if (p.beamWidth < 2) return [`lm needs beam search: set beamWidth > 1 (e.g. 8)`];
        loadLm(p.lm);
      }
      return [];
    } catch (e) {
      return [e instanceof Error ? e.message : String(e)];
    }
  },
  checkInput: (p, input) => {
    if (input.vocabSize === undefined) return [];
    const size = Vocabulary.load(p.tokens).size;
    return size === input.vocabSize
      ? []
      : [`the tokens file ${p.tokens} has ${size} tokens but ${input.producer} emits ${input.vocabSize} log-probs per frame; use the tokens file that belongs to the model`];
  },
  create: (p, ctx) => {
    let vocab: Vocabulary | undefined;
    let vocabError: Error | undefined;
    try {
      vocab = Vocabulary.load(p.tokens);
    } catch (e) {
      vocabError = e instanceof Error ? e : new Error(String(e));
    }
    let hotwordIds: number[][] | undefined;
    let fusion: LmFusion | undefined;
    if (p.lm && vocab && !vocabError) {
      try {
        if (p.beamWidth < 2) throw new Error(`${ctx.nodeId}: lm needs beam search: set beamWidth > 1 (e.g. 8)`);
        const v = vocab;
        const ids = v.pieces.map((_, i) => i);
        fusion = {
          lm: loadLm(p.lm),
          weight: p.lmWeight,
          bonus: p.wordBonus,
          unkPenalty: p.unkPenalty,
          startsWord: ids.map((i) => v.isBoundary(i) || v.startsWord(i)),
          letters: ids.map((i) => (v.isBoundary(i) || v.isSpecial(i) ? '' : v.text(i).toLowerCase())),
        };
      } catch (e) {
        vocabError = e instanceof Error ? e : new Error(String(e));
      }
    }

    const result = (st: State, isFinal: boolean, end?: UtteranceItem): TranscriptItem => {
      const tokens = st.search?.best() ?? [];
      const d = tokensToText(tokens, vocab!, st.frameShiftMs);
      const confidence = tokens.length ? d.confidence : st.segFrames ? st.blankProbSum / st.segFrames : 0;
      const u = st.utterance;
      if (u) clampWords(d.words, u.startMs, end ? end.endMs : Infinity);
      const item: TranscriptItem = {
        kind: 'transcript',
        streamId: st.id,
        text: d.text,
        isFinal,
        confidence,
        utteranceNumber: u?.number ?? 0,
        startMs: u ? u.startMs : d.words.length ? d.words[0].startMs : 0,
        endMs: end ? end.endMs : st.frames * st.frameShiftMs,
      };
      if (p.words) item.words = d.words;
      return item;
    };

    /** A new segment: the search restarts. */
    const restart = (st: State) => {
      st.search = undefined;
      st.segFrames = 0;
      st.blankProbSum = 0;
      st.lastPartialText = '';
    };

    return perStream<State>({
      operator: ctx.nodeId,
      accepts: ['logprobs', 'utterance'],
      flow: ctx.flow,
      open: (id) => ({ id, frames: 0, segFrames: 0, frameShiftMs: 0, blankProbSum: 0, lastPartialMs: 0, lastPartialText: '', markers: false }),
      snapshot: ({ search, ...rest }): Snapshot => ({ ...rest, search: search?.snapshot() }),
      restore: (id, value) => {
        const { search, ...rest } = value as Snapshot;
        const state: State = { ...rest, id };
        if (search) state.search = search.kind === 'greedy' ? GreedySearch.restore(search) : BeamSearch.restore(p.beamWidth, p.hotwordBoost, search, fusion);
        return state;
      },
      onItem(st, it, emit) {
        if (vocabError) throw vocabError;
        if (it.kind === 'utterance') {
          st.markers = true;
          if (it.event === 'end' && st.utterance) emit(result(st, true, it));
          st.utterance = it.event === 'start' ? { number: it.utteranceNumber, startMs: it.startMs } : undefined;
          restart(st);
          emit(it);
          return;
        }
        const item = it as LogprobsItem;
        const v = vocab!;
        if (item.vocabSize !== v.size) {
          throw new Error(
            `stream '${st.id}': the tokens file ${p.tokens} has ${v.size} tokens but the model emits ${item.vocabSize} log-probs per frame; use the tokens file that belongs to the model`,
          );
        }
        // -Infinity is a probability of 0; NaN or +Infinity come from a broken model and would decode to garbage with a NaN confidence.
        for (let k = 0; k < item.data.length; k++) {
          const x = item.data[k];
          if (x !== x || x === Infinity) {
            throw new Error(`stream '${st.id}': the model emitted ${x} as a log-probability (frame ${item.startFrame + Math.floor(k / item.vocabSize)}); its output cannot be decoded`);
          }
        }
        const blank = p.blankId ?? item.blankId;
        if (!st.search) {
          if (p.beamWidth > 1) {
            if (!hotwordIds) {
              hotwordIds = [];
              for (const w of p.hotwords) {
                const ids = v.spell(w);
                if (ids) hotwordIds.push(ids);
                else ctx.log.warn(`${ctx.nodeId}: hotword '${w}' cannot be spelled with ${p.tokens}; ignored`);
              }
            }
            st.search = new BeamSearch(blank, p.beamWidth, hotwordIds, p.hotwordBoost, 12, fusion);
          } else st.search = new GreedySearch(blank);
        }
        st.frameShiftMs = item.frameShiftMs;
        st.search.feed(item.data, item.nFrames, item.vocabSize, item.startFrame);
        for (let t = 0; t < item.nFrames; t++) st.blankProbSum += Math.exp(item.data[t * item.vocabSize + blank]);
        st.frames = item.startFrame + item.nFrames;
        decoderStats.audioMs += item.nFrames * item.frameShiftMs;
        st.segFrames += item.nFrames;
        if (p.partials && (st.utterance || !st.markers)) {
          const nowMs = st.frames * st.frameShiftMs;
          if (nowMs - st.lastPartialMs >= p.partialIntervalMs) {
            const r = result(st, false);
            if (r.text !== st.lastPartialText) {
              st.lastPartialMs = nowMs;
              st.lastPartialText = r.text;
              emit(r);
            }
          }
        }
      },
      onEnd(st, emit) {
        if (vocabError) throw vocabError;
        if (st.utterance || !st.markers) emit(result(st, true));
      },
    });
  },
};

export const ctcDecoder = stageFactory(CtcDecoder);
