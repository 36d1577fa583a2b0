import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { Ajv } from 'ajv';
import { LineCounter, isMap, isNode, isSeq, parseDocument, visit, type Document } from 'yaml';
import type { OperatorSpec, OutputInfo } from '../operator.js';
import { describeAjvError, paramValidator } from '../params.js';
import { resolveAsset } from '../paths.js';
import { depthProblem } from './depth.js';
import { GraphError, type GraphProblem } from './errors.js';
import { overwrittenInputs } from './overwrite.js';
import { GRAPH_SCHEMA, type GraphDocument } from './schema.js';
import { coerceOverride, substitute } from './substitute.js';

export interface PlanNode {
  id: string;
  spec: OperatorSpec;
  params: Record<string, unknown>;
  inputs: string[];
}

/** A validated graph, ready to build. Nodes are in topological order. */
export interface Plan {
  name: string;
  file: string;
  nodes: PlanNode[];
  /** Nodes no other node consumes: the graph's results. */
  outputs: string[];
}

export interface LoadOptions {
  registry: OperatorSpec[];
  /** `--param name=value` overrides (strings are coerced to the default's type) or typed values from code. */
  params?: Record<string, unknown>;
  env?: Record<string, string | undefined>;
  maxBytes?: number;
  /** Run the operators' own pre-run checks (open models, tokens). */
  deepChecks?: boolean;
}

type Path = Array<string | number>;
const MAX_ALIAS_EXPANSIONS = 200;
const graphValidator = new Ajv({ allErrors: true, strict: false }).compile(GRAPH_SCHEMA);

export async function loadGraphFile(file: string, opts: LoadOptions): Promise<Plan> {
  const problem = (message: string) => new GraphError([{ file, line: 1, col: 1, message }]);
  if (!existsSync(file)) throw problem('graph file not found');
  const stat = statSync(file);
  if (!stat.isFile()) throw problem('not a regular file');
  const maxBytes = opts.maxBytes ?? 1 << 20;
  const binary = binaryKind(file);
  if (binary) throw problem(`not a YAML graph (${binary}); to transcribe audio use: streamsx-stt run graphs/onnx-stt.yaml --param audio=${file}`);
  if (stat.size > maxBytes) throw problem(`graph file is ${stat.size} bytes, over the limit of ${maxBytes} (--max-graph-bytes)`);
  return loadGraph(file, readFileSync(file, 'utf8'), opts);
}

/**
 * What a binary file passed as a graph looks like (an easy mistake: `run talk.wav`), from its first
 * bytes, or undefined for text. YAML is text: a NUL byte or bytes that are not UTF-8 mean binary, and
 * reporting that in one line beats a YAML parser's complaint about a megabyte of noise.
 */
function binaryKind(file: string): string | undefined {
  const head = Buffer.alloc(8192);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const bytes = head.subarray(0, n);
  const ascii = bytes.toString('latin1', 0, 12);
  if (/^(RIFF|RF64)....WAVE/s.test(ascii)) return 'a WAV audio file';
  if (/^(fLaC|OggS|ID3)/.test(ascii) || ascii.slice(4, 8) === 'ftyp') return 'an audio file';
  if (bytes.includes(0)) return 'a binary file';
  // A multi-byte character cut at the end of the sample is not a reason to call the file binary.
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, Math.max(0, n - 4)));
  if (text.includes('\uFFFD')) return 'a binary file, not UTF-8 text';
  return undefined;
}

export async function loadGraph(file: string, text: string, opts: LoadOptions): Promise<Plan> {
  const problems: GraphProblem[] = [];
  const lineCounter = new LineCounter();
  // logLevel error: no process warnings (e.g. for a collection used as a key); such documents fail validation anyway.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  const at = (offset: number) => lineCounter.linePos(offset);
  const report = (offset: number, message: string) => {
    const { line, col } = at(offset);
    problems.push({ file, line, col, message });
  };
  const reportAt = (path: Path, message: string) => report(offsetOf(doc, path), message);
  const fail = () => {
    problems.sort((a, b) => a.line - b.line || a.col - b.col);
    return new GraphError(problems);
  };

  // A file that is not a graph at all (prose, CSV, a transcript passed by mistake) gets one line, not a
  // YAML parser's complaints about each of its lines; a .yaml file keeps every syntax error, located.
  const notAGraph = (what: string) =>
    new GraphError([{ file, line: 1, col: 1, message: `not a YAML graph (${what}); graphs are .yaml files with name: and nodes:, and to transcribe audio use: streamsx-stt run graphs/onnx-stt.yaml --param audio=<file>` }]);
  const yamlName = /\.ya?ml$/i.test(file);
  if (doc.errors.length && !yamlName) throw notAGraph(`not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  for (const e of doc.errors) report(e.pos[0], e.message.split('\n')[0]);
  if (problems.length) throw fail();
  if (doc.contents === null) throw notAGraph('the file is empty');
  if (!isMap(doc.contents)) throw notAGraph(`its top level is ${isSeq(doc.contents) ? 'a list' : 'plain text'}, not a mapping`);
  // 1e999, .inf and .nan read as Infinity/NaN, which JSON Schema number checks let through.
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'number' && !Number.isFinite(node.value) && node.range) {
        report(node.range[0], `${text.slice(node.range[0], node.range[1]).trim()} is not a finite number`);
      }
    },
  });
  if (problems.length) throw fail();

  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (e) {
    report(0, `the document cannot be read: ${(e as Error).message.split('\n')[0]}`);
    throw fail();
  }
  if (!graphValidator(js)) {
    for (const e of graphValidator.errors ?? []) {
      const { path, message } = describeAjvError(e);
      reportAt(path.map((p) => (/^\d+$/.test(p) ? Number(p) : p)), message.replace(/parameter/g, 'key'));
    }
    throw fail();
  }
  const graph = js as GraphDocument;

  // Graph parameters: declared defaults, overridden by --param, then ${ENV} references resolved.
  const env = opts.env ?? process.env;
  const declared = graph.params ?? {};
  const values: Record<string, unknown> = {};
  for (const [name, def] of Object.entries(declared)) {
    values[name] = substitute(def, (n) => env[n], (n) => reportAt(['params', name], `undefined reference \${${n}}`));
  }
  for (const [name, value] of Object.entries(opts.params ?? {})) {
    if (!(name in declared)) {
      problems.push({ file, line: 1, col: 1, message: `--param ${name}: the graph declares no parameter '${name}' (it has: ${Object.keys(declared).join(', ') || 'none'})` });
      continue;
    }
    values[name] = typeof value === 'string' ? coerceOverride(value, declared[name]) : value;
  }
  const lookup = (name: string) => (name in values ? values[name] : env[name]);

  const registry = new Map(opts.registry.map((s) => [s.kind, s]));
  const nodes: PlanNode[] = [];
  const seen = new Set<string>();
  graph.nodes.forEach((raw, i) => {
    const where: Path = ['nodes', i];
    if (seen.has(raw.id)) reportAt([...where, 'id'], `duplicate node id '${raw.id}'`);
    seen.add(raw.id);
    const spec = registry.get(raw.kind);
    if (!spec) {
      reportAt([...where, 'kind'], `unknown operator kind '${raw.kind}' (known: ${[...registry.keys()].join(', ')})`);
      return;
    }
    const params = substitute(raw.params ?? {}, lookup, (n) => reportAt([...where, 'params'], `undefined reference \${${n}} (declare it under params: or set the environment variable)`)) as Record<string, unknown>;
    const validate = paramValidator(spec);
    if (!validate(params)) {
      for (const e of validate.errors ?? []) {
        const { path, message } = describeAjvError(e);
        reportAt([...where, 'params', ...path], `${raw.id} (${raw.kind}): ${message}`);
      }
      return;
    }
    for (const name of spec.pathParams ?? []) {
      const value = params[name];
      if (typeof value !== 'string' || value === '') continue;
      const resolved = resolveAsset(value);
      if (!existsSync(resolved)) reportAt([...where, 'params', name], `${raw.id} (${raw.kind}): parameter '${name}': file not found: ${value}`);
      else params[name] = resolved;
    }
    const inputs = raw.inputs ?? (i > 0 && spec.role === 'stage' ? [graph.nodes[i - 1].id] : []);
    nodes.push({ id: raw.id, spec, params, inputs });
  });

  checkWiring(nodes, graph, reportAt);
  const ordered = topologicalOrder(nodes, graph, reportAt);
  const tooDeep = problems.length ? undefined : depthProblem(ordered);
  if (tooDeep) reportAt(['nodes', graph.nodes.findIndex((n) => n.id === tooDeep.nodeId)], tooDeep.message);

  if (!problems.length && opts.deepChecks !== false) {
    for (const node of ordered) {
      if (!node.spec.check) continue;
      const index = graph.nodes.findIndex((n) => n.id === node.id);
      try {
        for (const message of await node.spec.check(node.params)) reportAt(['nodes', index, 'params'], `${node.id} (${node.spec.kind}): ${message}`);
      } catch (e) {
        reportAt(['nodes', index, 'params'], `${node.id} (${node.spec.kind}): ${(e as Error).message}`);
      }
    }
  }
  if (!problems.length && opts.deepChecks !== false) await adaptToConsumers(ordered);
  if (!problems.length && opts.deepChecks !== false) await checkConnections(ordered, graph, reportAt);
  if (!problems.length) {
    for (const o of await overwrittenInputs(ordered)) reportAt(['nodes', graph.nodes.findIndex((n) => n.id === o.writer), 'params', 'file'], o.message);
  }
  if (problems.length) throw fail();

  const consumed = new Set(ordered.flatMap((n) => n.inputs));
  return { name: graph.name, file, nodes: ordered, outputs: ordered.filter((n) => !consumed.has(n.id)).map((n) => n.id) };
}

/**
 * Lets a producer fill what the user left open from what its single consumer needs (the MelExtractor
 * before a 128-mel model makes 128 bins), so a shipped graph fits any model. A consumer that cannot
 * say (its model fails to load) adapts nothing: `check` and checkConnections report the problem.
 */
async function adaptToConsumers(ordered: PlanNode[]): Promise<void> {
  const byId = new Map(ordered.map((n) => [n.id, n]));
  for (const node of ordered) {
    const upstream = node.inputs.length === 1 ? byId.get(node.inputs[0]) : undefined;
    if (!upstream?.spec.adaptTo || !node.spec.wants) continue;
    const wants = await Promise.resolve(node.spec.wants(node.params)).catch(() => undefined);
    if (wants) upstream.params = upstream.spec.adaptTo(upstream.params, wants);
  }
}

/**
 * What each node will emit (its kind plus what its spec can tell before running) against what its
 * consumer accepts: a model that takes raw audio behind a MelExtractor, a feature count or vocabulary
 * that does not fit. Nodes with several inputs are not checked.
 */
async function checkConnections(ordered: PlanNode[], graph: GraphDocument, reportAt: (path: Path, message: string) => void): Promise<void> {
  const infos = new Map<string, OutputInfo>();
  for (const node of ordered) {
    const index = graph.nodes.findIndex((n) => n.id === node.id);
    const input = node.inputs.length === 1 ? infos.get(node.inputs[0]) : undefined;
    const name = `${node.id} (${node.spec.kind})`;
    try {
      if (input && node.spec.checkInput) {
        for (const message of await node.spec.checkInput(node.params, input)) reportAt(['nodes', index, 'params'], `${name}: ${message}`);
      }
      const extra = (await node.spec.describeOutput?.(node.params, input)) ?? {};
      infos.set(node.id, { ...extra, kind: node.spec.output, producer: name });
    } catch (e) {
      reportAt(['nodes', index, 'params'], `${name}: ${(e as Error).message}`);
    }
  }
}

function checkWiring(nodes: PlanNode[], graph: GraphDocument, reportAt: (path: Path, message: string) => void): void {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const node of nodes) {
    const index = graph.nodes.findIndex((n) => n.id === node.id);
    const explicit = graph.nodes[index].inputs !== undefined;
    const where: Path = explicit ? ['nodes', index, 'inputs'] : ['nodes', index, 'kind'];
    if (node.spec.role === 'source') {
      if (explicit && node.inputs.length) reportAt(where, `${node.id} (${node.spec.kind}) is a source and takes no inputs`);
      continue;
    }
    if (!node.inputs.length) reportAt(where, `${node.id} (${node.spec.kind}) has no input: put a source before it or give inputs:`);
    for (const inputId of node.inputs) {
      const upstream = byId.get(inputId);
      if (!upstream) {
        if (!graph.nodes.some((n) => n.id === inputId)) reportAt(where, `${node.id}: unknown input '${inputId}'`);
        continue;
      }
      if (!node.spec.input.includes(upstream.spec.output)) {
        reportAt(where, `${node.id} (${node.spec.kind}) takes ${node.spec.input.join(' or ')} items but ${upstream.id} (${upstream.spec.kind}) produces ${upstream.spec.output}`);
      }
    }
  }
}

/**
 * Inputs before their consumers, in the nodes' own order otherwise. Depth-first with an explicit stack
 * (a recursive walk overflowed on chains of a few thousand nodes); a cycle is reported with its trail.
 */
function topologicalOrder(nodes: PlanNode[], graph: GraphDocument, reportAt: (path: Path, message: string) => void): PlanNode[] {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: PlanNode[] = [];
  for (const root of nodes) {
    if (state.has(root.id)) continue;
    const stack: Array<{ node: PlanNode; next: number }> = [{ node: root, next: 0 }];
    state.set(root.id, 'visiting');
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next >= top.node.inputs.length) {
        state.set(top.node.id, 'done');
        ordered.push(top.node);
        stack.pop();
        continue;
      }
      const upstream = byId.get(top.node.inputs[top.next++]);
      if (!upstream || state.get(upstream.id) === 'done') continue;
      if (state.get(upstream.id) === 'visiting') {
        const trail = stack.map((f) => f.node.id);
        const index = graph.nodes.findIndex((n) => n.id === upstream.id);
        reportAt(['nodes', index, 'inputs'], `cycle: ${[...trail.slice(trail.indexOf(upstream.id)), upstream.id].join(' -> ')}`);
        return ordered;
      }
      state.set(upstream.id, 'visiting');
      stack.push({ node: upstream, next: 0 });
    }
  }
  return ordered;
}

/** Offset of the deepest existing YAML node along `path`, for file:line:col messages. */
function offsetOf(doc: Document, path: Path): number {
  for (let n = path.length; n >= 0; n--) {
    const prefix = path.slice(0, n);
    const node = prefix.length ? doc.getIn(prefix, true) : doc.contents;
    if (isNode(node) && node.range) {
      // For a mapping entry, point at its key rather than its value.
      if (prefix.length) {
        const parent = prefix.length > 1 ? doc.getIn(prefix.slice(0, -1), true) : doc.contents;
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isNode(p.key) && (p.key as { value?: unknown }).value === prefix[prefix.length - 1]);
          if (pair && isNode(pair.key) && pair.key.range) return pair.key.range[0];
        }
      }
      return node.range[0];
    }
  }
  return 0;
}
