/**
 * CTC search over log-prob frames, with state carried across chunks of one stream.
 *
 * - `GreedySearch`: argmax per frame; a repeat of the previous frame's id merges (ACROSS chunk
 *   boundaries: the last id is carried), blanks are dropped.
 * - `BeamSearch`: CTC prefix beam search (`beamWidth` prefixes, blank/non-blank split scores), with
 *   optional hotword boosting: each token that extends a hotword prefix adds `boost` to the prefix's
 *   ranking score; a prefix that leaves a hotword half-way loses what it gained (as sherpa-onnx's context
 *   graph does). Boosts change the ranking only, never the reported probabilities.
 *
 * Both report tokens with their first and last frame (stream output-frame index) and a confidence:
 * the highest per-frame probability the token had over the frames it was emitted on.
 */

export interface Token {
  id: number;
  startFrame: number;
  endFrame: number;
  prob: number;
}

export interface Search {
  /** Feeds frames [startFrame, startFrame + nFrames) (row-major, vocab wide). */
  feed(data: Float32Array, nFrames: number, vocab: number, startFrame: number): void;
  /** The current best token sequence. */
  best(): Token[];
  /** The search state as plain values (checkpoints); see `restoreSearch`. */
  snapshot(): SearchSnapshot;
}

export type SearchSnapshot =
  | { kind: 'greedy'; blank: number; last: number; tokens: Token[] }
  /** Prefix nodes share parents and hotword-trie nodes: V8 serialisation keeps those references. */
  | { kind: 'beam'; blank: number; beams: unknown[]; root: unknown };

export class GreedySearch implements Search {
  private last = -1;
  private readonly tokens: Token[] = [];

  constructor(private readonly blank: number) {}

  feed(data: Float32Array, nFrames: number, vocab: number, startFrame: number): void {
    for (let t = 0; t < nFrames; t++) {
      const row = t * vocab;
      let best = 0;
      let bv = data[row];
      for (let v = 1; v < vocab; v++) {
        if (data[row + v] > bv) {
          bv = data[row + v];
          best = v;
        }
      }
      const frame = startFrame + t;
      if (best !== this.blank) {
        const p = Math.exp(bv);
        if (best === this.last) {
          const tok = this.tokens[this.tokens.length - 1];
          tok.endFrame = frame;
          if (p > tok.prob) tok.prob = p;
        } else {
          this.tokens.push({ id: best, startFrame: frame, endFrame: frame, prob: p });
        }
      }
      this.last = best;
    }
  }

  best(): Token[] {
    return this.tokens.map((t) => ({ ...t }));
  }

  snapshot(): SearchSnapshot {
    return { kind: 'greedy', blank: this.blank, last: this.last, tokens: this.tokens };
  }

  static restore(s: Extract<SearchSnapshot, { kind: 'greedy' }>): GreedySearch {
    const g = new GreedySearch(s.blank);
    g.last = s.last;
    for (const t of s.tokens) g.tokens.push(t); // (a spread would hit V8's argument limit on hours-long streams)
    return g;
  }
}

interface Node {
  id: number;
  parent: Node | null;
  startFrame: number;
  endFrame: number;
  prob: number;
  /** Hotword trie state after this prefix, and the boost gained inside the unfinished hotword. */
  hw: TrieNode;
  partial: number;
  /** Boost kept for completed hotwords. */
  boost: number;
  /** Language model: the completed words' weighted score, the last words (context) and the word being spelled. */
  lm: number;
  context: string[];
  word: string;
}

/**
 * Word-level shallow fusion (as pyctcdecode does): each completed word adds weight x ln P(word | previous
 * words) + bonus; a word that cannot become a vocabulary word (no word starts with its letters) is
 * scored `unkPenalty` as soon as that shows, so such prefixes fall out of the beam early.
 */
export interface LmFusion {
  lm: {
    order: number;
    logProb(context: readonly string[], word: string): number | undefined;
    hasPrefix(prefix: string): boolean;
  };
  weight: number;
  bonus: number;
  unkPenalty: number;
  /** Per token id: it starts a new word (a boundary, or a SentencePiece `▁xyz` piece), and the letters it adds. */
  startsWord: boolean[];
  letters: string[];
}

interface Beam {
  node: Node;
  pb: number;
  pnb: number;
}

interface TrieNode {
  children: Map<number, TrieNode>;
  depth: number;
  end: boolean;
}

const NEG = -Infinity;
function lse(a: number, b: number): number {
  if (a === NEG) return b;
  if (b === NEG) return a;
  const m = a > b ? a : b;
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

export class BeamSearch implements Search {
  private beams: Beam[];
  private root: TrieNode = { children: new Map(), depth: 0, end: false };

  constructor(
    private readonly blank: number,
    private readonly beamWidth: number,
    hotwords: number[][] = [],
    private readonly boost = 0,
    /** Tokens more than this far (log) below a frame's best are not tried. */
    private readonly prune = 12,
    private readonly fusion?: LmFusion,
  ) {
    for (const seq of hotwords) {
      let n = this.root;
      for (const id of seq) {
        let c = n.children.get(id);
        if (!c) {
          c = { children: new Map(), depth: n.depth + 1, end: false };
          n.children.set(id, c);
        }
        n = c;
      }
      n.end = true;
    }
    const rootNode: Node = { id: -1, parent: null, startFrame: 0, endFrame: 0, prob: 0, hw: this.root, partial: 0, boost: 0, lm: 0, context: ['<s>'], word: '' };
    this.beams = [{ node: rootNode, pb: 0, pnb: NEG }];
  }

  snapshot(): SearchSnapshot {
    return { kind: 'beam', blank: this.blank, beams: this.beams, root: this.root };
  }

  /** A search resumed from `snapshot()` (decoded in one piece, so the shared references hold). */
  static restore(beamWidth: number, boost: number, s: Extract<SearchSnapshot, { kind: 'beam' }>, fusion?: LmFusion): BeamSearch {
    const b = new BeamSearch(s.blank, beamWidth, [], boost, 12, fusion);
    b.beams = s.beams as Beam[];
    b.root = s.root as TrieNode;
    return b;
  }

  private extend(parent: Node, id: number, frame: number, prob: number): Node {
    let hw = parent.hw;
    let partial = parent.partial;
    let boost = parent.boost;
    if (this.root.children.size) {
      let next = hw.children.get(id);
      if (!next && hw !== this.root) {
        partial = 0; // left a hotword half-way: lose what it gave
        next = this.root.children.get(id);
      }
      if (next) {
        partial += this.boost;
        if (next.end) {
          boost += partial;
          partial = 0;
          hw = next.children.size ? next : this.root;
        } else hw = next;
      } else hw = this.root;
    }
    let { lm, context, word } = parent;
    const f = this.fusion;
    if (f) {
      if (f.startsWord[id]) {
        if (word) {
          lm += this.wordScore(context, word);
          context = [...context.slice(Math.max(0, context.length - f.lm.order + 2)), word];
        }
        word = f.letters[id];
      } else word += f.letters[id];
    }
    return { id, parent, startFrame: frame, endFrame: frame, prob, hw, partial, boost, lm, context, word };
  }

  /** Weighted LM score of a completed word. */
  private wordScore(context: readonly string[], word: string): number {
    const f = this.fusion!;
    const lp = f.lm.logProb(context, word);
    return (lp === undefined ? f.unkPenalty : f.weight * lp) + f.bonus;
  }

  /** The LM's view of a prefix: completed words, plus a penalty once the open word cannot become a known one. */
  private lmScore(n: Node, final: boolean): number {
    const f = this.fusion;
    if (!f) return 0;
    if (!n.word) return n.lm;
    if (final) return n.lm + this.wordScore(n.context, n.word);
    return f.lm.hasPrefix(n.word) ? n.lm : n.lm + f.unkPenalty;
  }

  feed(data: Float32Array, nFrames: number, vocab: number, startFrame: number): void {
    const blank = this.blank;
    for (let t = 0; t < nFrames; t++) {
      const row = t * vocab;
      const frame = startFrame + t;
      let max = NEG;
      for (let v = 0; v < vocab; v++) if (data[row + v] > max) max = data[row + v];
      const cands: number[] = [];
      for (let v = 0; v < vocab; v++) if (v !== blank && data[row + v] >= max - this.prune) cands.push(v);
      cands.sort((a, b) => data[row + b] - data[row + a]);
      if (cands.length > 2 * this.beamWidth) cands.length = 2 * this.beamWidth;
      const lpBlank = data[row + blank];

      // Key of a prefix: its parent node and last id (unique per prefix among live beams).
      const next = new Map<Node | null, Map<number, Beam>>();
      const get = (parent: Node | null, id: number, make: () => Node): Beam => {
        let m = next.get(parent);
        if (!m) next.set(parent, (m = new Map()));
        let b = m.get(id);
        if (!b) m.set(id, (b = { node: make(), pb: NEG, pnb: NEG }));
        return b;
      };
      for (const b of this.beams) {
        const total = lse(b.pb, b.pnb);
        const self = get(b.node.parent, b.node.id, () => b.node);
        self.pb = lse(self.pb, total + lpBlank);
        for (const c of cands) {
          const lp = data[row + c];
          if (c === b.node.id) {
            self.pnb = lse(self.pnb, b.pnb + lp);
            if (b.pnb + lp > NEG) {
              b.node.endFrame = frame;
              if (Math.exp(lp) > b.node.prob) b.node.prob = Math.exp(lp);
            }
            if (b.pb > NEG) {
              const e = get(b.node, c, () => this.extend(b.node, c, frame, Math.exp(lp)));
              e.pnb = lse(e.pnb, b.pb + lp);
            }
          } else {
            const e = get(b.node, c, () => this.extend(b.node, c, frame, Math.exp(lp)));
            e.pnb = lse(e.pnb, total + lp);
          }
        }
      }
      const all: Beam[] = [];
      for (const m of next.values()) for (const b of m.values()) all.push(b);
      const score = (b: Beam) => lse(b.pb, b.pnb) + b.node.boost + b.node.partial + this.lmScore(b.node, false);
      all.sort((a, b) => score(b) - score(a));
      this.beams = all.slice(0, this.beamWidth);
    }
  }

  best(): Token[] {
    // With a language model the open last word is scored as complete before choosing.
    let top = this.beams[0];
    if (this.fusion) {
      const score = (b: Beam) => lse(b.pb, b.pnb) + b.node.boost + b.node.partial + this.lmScore(b.node, true);
      for (const b of this.beams) if (score(b) > score(top)) top = b;
    }
    const out: Token[] = [];
    for (let n: Node | null = top.node; n && n.parent; n = n.parent) {
      out.push({ id: n.id, startFrame: n.startFrame, endFrame: n.endFrame, prob: n.prob });
    }
    return out.reverse();
  }
}
