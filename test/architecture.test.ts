/**
 * The layering docs/architecture.md describes, checked on the code: no runtime import cycle in dist/
 * (static and dynamic imports followed), operators never import the CLI, the toolkit's core imports
 * neither operators nor the CLI, and tests do not reach into bench/.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { TOOLKIT_ROOT } from '../toolkit/paths.js';

const DIST = join(TOOLKIT_ROOT, 'dist');
/** The folders tsconfig.json compiles into dist/. */
const SOURCE_DIRS = ['toolkit', 'operators', 'samples', 'test', 'bench', 'support'];

function filesUnder(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'fixtures' ? [] : filesUnder(p, ext);
    return e.name.endsWith(ext) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative module specifiers of a file: `import ... from`, `export ... from`, `import '...'`, `import('...')`. */
export function relativeImports(code: string): Array<{ specifier: string; dynamic: boolean }> {
  const text = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Array<{ specifier: string; dynamic: boolean }> = [];
  for (const m of text.matchAll(/(?:^|[\s;}])(?:import|export)\s+(?:[^'"`;()]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g)) out.push({ specifier: m[1]!, dynamic: false });
  for (const m of text.matchAll(/\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) out.push({ specifier: m[1]!, dynamic: true });
  return out;
}

/** One cycle of the graph (as a path that starts and ends at the same node), or undefined. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') return [...path.slice(path.indexOf(next)), next];
      if (!state.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return undefined;
}

/**
 * The import graph of dist/: every compiled module whose TypeScript source still exists (dist/ is never
 * cleaned, so outputs of deleted sources are left out), with an edge per relative import.
 */
function distImportGraph(): { graph: Map<string, string[]>; dynamicEdges: number } {
  const graph = new Map<string, string[]>();
  let dynamicEdges = 0;
  for (const dir of SOURCE_DIRS) {
    for (const file of filesUnder(join(DIST, dir), '.js')) {
      const source = join(TOOLKIT_ROOT, relative(DIST, file)).replace(/\.js$/, '.ts');
      if (!existsSync(source)) continue;
      const edges = relativeImports(readFileSync(file, 'utf8')).map((i) => {
        if (i.dynamic) dynamicEdges++;
        return relative(DIST, resolve(dirname(file), i.specifier));
      });
      graph.set(relative(DIST, file), edges);
    }
  }
  return { graph, dynamicEdges };
}

/** Where each relative import of the TypeScript sources under `dir` points (repository-relative, .ts). */
function sourceImports(dir: string): Array<{ file: string; target: string }> {
  return filesUnder(join(TOOLKIT_ROOT, dir), '.ts').flatMap((file) =>
    relativeImports(readFileSync(file, 'utf8').replace(/^import type .*$/gm, (l) => l.replace(/^import type/, 'import'))).map((i) => ({
      file: relative(TOOLKIT_ROOT, file),
      target: relative(TOOLKIT_ROOT, resolve(dirname(file), i.specifier)).replace(/\.js$/, '.ts'),
    })),
  );
}

describe('architecture (docs/architecture.md)', () => {
  it('the cycle finder finds a cycle, static or through a dynamic import, and passes a DAG', () => {
    // Spelled through a variable so that this file's own compiled code does not import these.
    const [im, ex] = ['import', 'export'];
    const code = `${im} { a } from './a.js';\n${ex} * from "../b.js";\n${im} './c.js';\n// ${im} { x } from './commented.js';\nconst m = await ${im}('./d.js');\n${im}('left-alone');`;
    expect(relativeImports(code)).to.deep.equal([
      { specifier: './a.js', dynamic: false },
      { specifier: '../b.js', dynamic: false },
      { specifier: './c.js', dynamic: false },
      { specifier: './d.js', dynamic: true },
    ]);
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', []], ['d', ['a', 'c']]]))).to.equal(undefined);
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).to.deep.equal(['a', 'b', 'c', 'a']);
  });

  it('dist/ has no runtime import cycle (static and dynamic imports)', function () {
    if (!existsSync(join(DIST, 'toolkit', 'cli', 'main.js'))) this.skip();
    const { graph, dynamicEdges } = distImportGraph();
    expect(graph.size).to.be.greaterThan(100);
    // The walker reads dynamic imports: the tests have some (test/redis-scale-out.test.ts).
    expect(dynamicEdges).to.be.greaterThan(0);
    for (const [from, to] of graph) {
      for (const target of to) expect(existsSync(join(DIST, target)), `${from} imports ${target}, which is not in dist/`).to.equal(true);
    }
    const cycle = findCycle(graph);
    expect(cycle, `import cycle: ${cycle?.join(' -> ')}`).to.equal(undefined);
  });

  it('no file under operators/ imports toolkit/cli (commands call operators, never the other way)', () => {
    const imports = sourceImports('operators');
    expect(imports.length).to.be.greaterThan(50);
    expect(imports.filter((i) => i.target.startsWith('toolkit/cli/') || i.target === 'toolkit/index.ts').map((i) => `${i.file} -> ${i.target}`)).to.deep.equal([]);
  });

  it("the toolkit's core (items, operator, graph, runtime, ...) imports neither operators nor the CLI", () => {
    const core = sourceImports('toolkit').filter((i) => !i.file.startsWith('toolkit/cli/') && i.file !== 'toolkit/index.ts');
    expect(core.length).to.be.greaterThan(20);
    expect(core.filter((i) => i.target.startsWith('operators/') || i.target.startsWith('toolkit/cli/') || i.target === 'toolkit/index.ts').map((i) => `${i.file} -> ${i.target}`)).to.deep.equal([]);
  });

  it('tests import nothing from bench/ (what both need is in support/)', () => {
    const imports = sourceImports('test');
    expect(imports.filter((i) => i.target.startsWith('bench/')).map((i) => `${i.file} -> ${i.target}`)).to.deep.equal([]);
  });
});
