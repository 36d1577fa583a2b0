import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import { GraphError } from '../toolkit/graph/errors.js';
import { loadGraph, loadGraphFile, type LoadOptions } from '../toolkit/graph/load.js';

const options = (extra: Partial<LoadOptions> = {}): LoadOptions => ({ registry: OPERATORS, env: {}, deepChecks: false, ...extra });

async function problems(text: string, extra: Partial<LoadOptions> = {}): Promise<string[]> {
  try {
    await loadGraph('g.yaml', text, options(extra));
  } catch (e) {
    if (e instanceof GraphError) return e.message.split('\n');
    throw e;
  }
  throw new Error('expected the graph to be refused');
}

const CHAIN = `name: t
params:
  audio: a.wav
  chunkMs: 160
nodes:
  - { id: src, kind: FileSource, params: { files: "\${audio}" } }
  - { id: chunk, kind: Chunker, params: { chunkMs: "\${chunkMs}" } }
  - { id: out, kind: Sink, params: { format: jsonl } }
`;

describe('graph loader', () => {
  it('loads a chain, applies defaults and keeps the type of whole-string references', async () => {
    const plan = await loadGraph('g.yaml', CHAIN, options());
    expect(plan.nodes.map((n) => n.id)).to.deep.equal(['src', 'chunk', 'out']);
    expect(plan.nodes[1].inputs).to.deep.equal(['src']);
    expect(plan.nodes[1].params.chunkMs).to.equal(160);
    expect(plan.nodes[0].params.files).to.equal('a.wav');
    expect(plan.outputs).to.deep.equal(['out']);
  });

  it('applies --param overrides with the default type, and ${ENV:default} references', async () => {
    const text = CHAIN.replace('a.wav', '${AUDIO_DIR:x}/b.wav');
    const plan = await loadGraph('g.yaml', text, options({ params: { chunkMs: '320' }, env: { AUDIO_DIR: '/data' } }));
    expect(plan.nodes[1].params.chunkMs).to.equal(320);
    expect(plan.nodes[0].params.files).to.equal('/data/b.wav');
  });

  it('refuses an override of a parameter the graph does not declare', async () => {
    expect(await problems(CHAIN, { params: { chunkSize: '1' } })).to.deep.equal([
      "g.yaml:1:1: --param chunkSize: the graph declares no parameter 'chunkSize' (it has: audio, chunkMs)",
    ]);
  });

  it('reports every problem at once, with line and column, sorted', async () => {
    const text = `name: t
colour: red
nodes:
  - { id: src, kind: FileSource, params: { files: a.wav, speed: 2 } }
  - { id: chunk, kind: Chunkr }
  - { id: out, kind: Sink, params: { format: mp4 } }
`;
    expect(await problems(text)).to.deep.equal([
      "g.yaml:2:1: unknown key 'colour'",
    ]);
    const text2 = text.replace('colour: red\n', '');
    const lines = await problems(text2);
    expect(lines[0]).to.equal("g.yaml:3:58: src (FileSource): unknown parameter 'speed'");
    expect(lines[1]).to.match(/^g\.yaml:4:18: unknown operator kind 'Chunkr' \(known: .*Chunker.*\)$/);
    expect(lines[2]).to.match(/^g\.yaml:5:38: out \(Sink\): parameter 'format' must be one of "text", "jsonl", "csv"/);
    expect(lines).to.have.length(3);
  });

  it('refuses tabs, duplicate keys and alias bombs with a position', async () => {
    expect((await problems('name: t\nnodes:\n\t- { id: a, kind: FileSource }\n'))[0]).to.match(/^g\.yaml:3:1: .*[Tt]ab/);
    expect(await problems('name: t\nname: u\nnodes: []\n')).to.deep.equal(['g.yaml:2:1: Map keys must be unique']);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) bomb.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
    bomb.push('name: t', 'nodes: []');
    const lines = await problems(bomb.join('\n'));
    expect(lines[0]).to.match(/^g\.yaml:1:1: the document cannot be read: .*alias/i);
  });

  it('checks item kinds between wired nodes', async () => {
    const text = `name: t
nodes:
  - { id: src, kind: FileSource, params: { files: a.wav } }
  - { id: dec, kind: CtcDecoder, params: { tokens: t.txt } }
`;
    const lines = await problems(text);
    expect(lines).to.include('g.yaml:4:16: dec (CtcDecoder) takes logprobs items but src (FileSource) produces audio');
  });

  it('finds cycles and unknown inputs', async () => {
    const text = `name: t
nodes:
  - { id: src, kind: FileSource, params: { files: a.wav } }
  - { id: a, kind: Chunker, inputs: [b] }
  - { id: b, kind: Chunker, inputs: [a] }
  - { id: c, kind: Chunker, inputs: [nowhere] }
`;
    const lines = await problems(text);
    expect(lines).to.deep.equal(["g.yaml:4:29: cycle: a -> b -> a", "g.yaml:6:29: c: unknown input 'nowhere'"]);
  });

  it('reports undefined references and missing files', async () => {
    const text = `name: t
nodes:
  - { id: src, kind: FileSource, params: { files: "\${nothing}" } }
  - { id: dec, kind: Chunker }
`;
    expect(await problems(text)).to.deep.equal([
      'g.yaml:3:34: undefined reference ${nothing} (declare it under params: or set the environment variable)',
    ]);
  });

  it('refuses a graph file over the size limit and a missing graph file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'graph-'));
    const file = join(dir, 'big.yaml');
    writeFileSync(file, `${CHAIN}#${'x'.repeat(2000)}\n`);
    const err = await loadGraphFile(file, options({ maxBytes: 1000 })).catch((e: Error) => e);
    expect((err as Error).message).to.equal(`${file}:1:1: graph file is ${CHAIN.length + 2002} bytes, over the limit of 1000 (--max-graph-bytes)`);
    const missing = await loadGraphFile(join(dir, 'none.yaml'), options()).catch((e: Error) => e);
    expect((missing as Error).message).to.equal(`${join(dir, 'none.yaml')}:1:1: graph file not found`);
  });
});
