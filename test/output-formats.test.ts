/**
 * docs/output-formats.md and its JSON Schema against real output: every JSONL record the shipped graph
 * writes (partials, finals with words, an error) and the Sink's end summaries validate, and so does
 * every example line in the doc.
 */
import { expect } from 'chai';
import { Ajv } from 'ajv';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { OPERATORS } from '../operators/index.js';
import { fileSource } from '../operators/file-source/index.js';
import { sinkTo } from '../operators/sink/index.js';
import { loadGraphFile } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';

const DOC = join(TOOLKIT_ROOT, 'docs/output-formats.md');
const schema = JSON.parse(readFileSync(join(TOOLKIT_ROOT, 'docs/output-formats.schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true, strictRequired: false }).compile(schema);
const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };

function expectValid(line: string): Record<string, unknown> {
  const record = JSON.parse(line) as Record<string, unknown>;
  expect(validate(record), `${line}\n${JSON.stringify(validate.errors, null, 1)}`).to.equal(true);
  expect(Object.keys(record)[0], line).to.equal('kind');
  return record;
}

describe('JSONL output and its JSON Schema (docs/output-formats.md)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'formats-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('every record the shipped graph writes validates and has kind: partials, finals with words, an error', async () => {
    const out = join(dir, 'out.jsonl');
    const audio = [join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav'), join(TOOLKIT_ROOT, 'test/fixtures/audio/librivox.mp3'), join(dir, 'missing.flac')];
    const plan = await loadGraphFile(join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml'), { registry: OPERATORS, params: { audio: audio[0]!, out, format: 'jsonl' } });
    // The graph's audio param is one path or glob; give FileSource all three through its node params.
    (plan.nodes.find((n) => n.spec.kind === 'FileSource')!.params as { files: string[] }).files = audio;
    await runPlan(plan, { log: silent });
    const records = readFileSync(out, 'utf8').split('\n').filter(Boolean).map(expectValid);
    const kinds = (k: string, final?: boolean) => records.filter((r) => r.kind === k && (final === undefined || r.isFinal === final));
    expect(kinds('transcript', false)).to.not.be.empty;
    expect(kinds('transcript', true)).to.have.length(2);
    expect(kinds('transcript', true).every((r) => Array.isArray(r.words))).to.equal(true);
    expect(kinds('error')).to.deep.equal([{ kind: 'error', streamId: audio[2], operator: 'src', message: `${audio[2]}: no such file` }]);
  });

  it('end summaries (streams that reach the Sink as audio) validate', async () => {
    const lines: string[] = [];
    await lastValueFrom(fileSource({ files: join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav') }).pipe(sinkTo((r) => lines.push(r), { format: 'jsonl' })));
    expect(lines.map((l) => expectValid(l.trim()))).to.deep.equal([{ kind: 'end', streamId: join(TOOLKIT_ROOT, 'samples/audio/librivox-0880.wav'), itemKind: 'audio', items: 30, samples: 47840, durationMs: 2990 }]);
  });

  it("the doc's JSONL examples validate, and the schema refuses a record without kind", () => {
    const doc = readFileSync(DOC, 'utf8');
    const block = /```jsonl\n([\s\S]*?)```/.exec(doc);
    expect(block, 'a ```jsonl block in docs/output-formats.md').to.not.equal(null);
    const examples = block![1]!.split('\n').filter(Boolean).map(expectValid);
    expect(new Set(examples.map((r) => r.kind))).to.deep.equal(new Set(['transcript', 'error', 'end']));
    const { kind: _kind, ...withoutKind } = examples[0]!;
    expect(validate(withoutKind)).to.equal(false);
  });
});
