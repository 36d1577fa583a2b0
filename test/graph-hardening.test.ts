/**
 * Graphs and runs that used to end badly (issue #16): chains too deep for the runner, a run that
 * stopped without completing (exit 0, nothing written), stdout on a full disk, and a Sink writing the
 * file its FileSource reads.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openSync, closeSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATORS } from '../operators/index.js';
import { MAX_GRAPH_DEPTH } from '../toolkit/graph/depth.js';
import { GraphError } from '../toolkit/graph/errors.js';
import { loadGraph, type Plan } from '../toolkit/graph/load.js';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';
import { runPlan } from '../toolkit/runtime/run.js';

const CLI = join(TOOLKIT_ROOT, 'dist', 'toolkit', 'cli', 'main.js');
const FOX = join(TOOLKIT_ROOT, 'samples/audio/flite-slt-fox.wav');
const silent = { info: () => undefined, warn: () => undefined, verbose: () => undefined };

/** FileSource, `nodes - 2` Chunkers one after another, Sink: a chain `nodes` deep. */
function chain(nodes: number, out = '-'): string {
  const lines = ['name: deep', 'nodes:', `  - { id: src, kind: FileSource, params: { files: ${JSON.stringify(FOX)} } }`];
  let prev = 'src';
  for (let i = 0; i < nodes - 2; i++) {
    lines.push(`  - { id: c${i}, kind: Chunker, inputs: [${prev}] }`);
    prev = `c${i}`;
  }
  lines.push(`  - { id: out, kind: Sink, inputs: [${prev}], params: { format: jsonl, file: ${JSON.stringify(out)} } }`);
  return `${lines.join('\n')}\n`;
}

async function refusal(file: string, text: string): Promise<string> {
  try {
    await loadGraph(file, text, { registry: OPERATORS, env: {} });
  } catch (e) {
    if (e instanceof GraphError) return e.message;
    throw e;
  }
  throw new Error('expected the graph to be refused');
}

describe('graph and run hardening (issue #16)', function () {
  this.timeout(60000);

  it(`chains deeper than ${MAX_GRAPH_DEPTH} nodes are refused by the loader with file:line:col; a chain at the limit runs to completion`, async () => {
    expect(await refusal('deep.yaml', chain(1000))).to.equal('deep.yaml:1002:5: out: a chain of 1000 nodes ends here, over the limit of 256 nodes the runner can run in one chain');
    expect(await refusal('deep.yaml', chain(3000))).to.equal('deep.yaml:3002:5: out: a chain of 3000 nodes ends here, over the limit of 256 nodes the runner can run in one chain');
    const dir = mkdtempSync(join(tmpdir(), 'deep-'));
    const out = join(dir, 'out.jsonl');
    const plan = await loadGraph('limit.yaml', chain(MAX_GRAPH_DEPTH, out), { registry: OPERATORS, env: {} });
    const result = await runPlan(plan, { log: silent });
    expect(result.errors).to.deep.equal([]);
    expect(result.streamsEnded).to.equal(1);
    const summary = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind?: string; samples?: number }).find((r) => r.kind === 'end');
    expect(summary?.samples).to.equal(47440); // every sample of the clip came through 254 Chunkers
  });

  it('a plan built in code that is too deep is refused by runPlan, not run into a stack overflow', async () => {
    const plan = await loadGraph('ok.yaml', chain(3), { registry: OPERATORS, env: {} });
    const [src, , sink] = plan.nodes;
    const nodes = [src];
    for (let i = 0; i < 400; i++) nodes.push({ ...plan.nodes[1], id: `c${i}`, inputs: [nodes[nodes.length - 1].id] });
    nodes.push({ ...sink, inputs: [nodes[nodes.length - 1].id] });
    const deep: Plan = { ...plan, file: 'built-in-code', nodes };
    let error: Error | undefined;
    await runPlan(deep, { log: silent }).catch((e: Error) => (error = e));
    expect(error?.message).to.equal('built-in-code: out: a chain of 402 nodes ends here, over the limit of 256 nodes the runner can run in one chain');
  });

  it('a run that stops without its graph completing never exits 0', () => {
    const settled = join(TOOLKIT_ROOT, 'dist/toolkit/cli/settled.js');
    // What a graph whose operators all went quiet looks like: a promise nothing will ever settle.
    const script = `import { untilSettled } from ${JSON.stringify(settled)}; untilSettled(new Promise(() => {}), 'the run of g.yaml').then(() => process.stdout.write('completed'));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.equal('streamsx-stt: the run of g.yaml stopped before its graph completed (no operator had anything left to do)\n');
  });

  it('stdout on a full disk (run ... > /dev/full) is one line naming it and exit 2, not a stack trace', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const r = spawnSync(process.execPath, [CLI, 'run', 'graphs/onnx-stt.yaml', '--param', `audio=${FOX}`], { encoding: 'utf8', cwd: TOOLKIT_ROOT, stdio: ['ignore', full, 'pipe'] });
      expect(r.stderr).to.equal('streamsx-stt: out: cannot write -: ENOSPC: no space left on device, write\n');
      expect(r.status).to.equal(2);
    } finally {
      closeSync(full);
    }
  });

  it('a Sink file that is also an input (by name or through a symlink) is refused before anything is opened; the input is intact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'overwrite-'));
    const input = join(dir, 'call.wav');
    copyFileSync(FOX, input);
    symlinkSync(input, join(dir, 'alias.wav'));
    const size = statSync(input).size;
    for (const [out, shown] of [
      [input, ''],
      [join(dir, 'alias.wav'), `, as ${input}`],
    ]) {
      const r = spawnSync(process.execPath, [CLI, 'run', 'graphs/onnx-stt.yaml', '--param', `audio=${dir}/call.wav`, '--param', `out=${out}`], { encoding: 'utf8', cwd: TOOLKIT_ROOT });
      expect(r.status).to.equal(2);
      expect(r.stderr).to.match(new RegExp(`^${join(TOOLKIT_ROOT, 'graphs/onnx-stt.yaml').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+:\\d+: out \\(Sink\\): file ${out.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is also an input of src \\(FileSource${shown.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\): writing it would destroy it before it is read\\n$`));
      expect(statSync(input).size).to.equal(size);
    }
    writeFileSync(join(dir, 'other.jsonl'), '');
    const ok = spawnSync(process.execPath, [CLI, 'validate', 'graphs/onnx-stt.yaml', '--param', `audio=${input}`, '--param', `out=${join(dir, 'other.jsonl')}`], { encoding: 'utf8', cwd: TOOLKIT_ROOT });
    expect(ok.status, ok.stderr).to.equal(0);
  });
});
