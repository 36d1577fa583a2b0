#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { OPERATORS } from '../../operators/index.js';
import { GraphError } from '../graph/errors.js';
import { loadGraphFile } from '../graph/load.js';
import { consoleLogger } from '../operator.js';
import { resolveAsset, TOOLKIT_ROOT } from '../paths.js';
import { join } from 'node:path';
import { runPlan } from '../runtime/run.js';
import { errorText } from '../../operators/sink/records.js';
import { commandExtensions, commandHelp, ownArgsCommands } from './extensions.js';
import { untilSettled } from './settled.js';
import { operatorsMarkdown, operatorsText, withOperatorsTable } from './operators-table.js';
import { readFileSync, writeFileSync } from 'node:fs';

const USAGE = `streamsx-stt — streaming speech-to-text operators wired from YAML graphs

Usage:
  streamsx-stt run <graph.yaml> [--param name=value]... [--verbose] [--metrics]
  streamsx-stt validate <graph.yaml> [--param name=value]...
  streamsx-stt operators [--markdown | --readme README.md]
  streamsx-stt inspect <model.onnx> [--json]
  streamsx-stt serve [graph.yaml] [--port 8080] [--host 127.0.0.1] [--param name=value]...
  streamsx-stt worker [graph.yaml] [--redis redis://127.0.0.1:6379] [--param name=value]...
  streamsx-stt produce [--redis URL] [--wait] <file.wav>...
  streamsx-stt <command> --help
  streamsx-stt --version

Exit status: 0 success, 1 some stream failed (the others' results are complete), 2 bad usage or graph.`;

const HELP: Record<string, string> = {
  run: `streamsx-stt run <graph.yaml> [--param name=value]... [--verbose] [--metrics]
  Validates the graph (every problem as file:line:col), then runs it to completion.
  --param name=value   override a graph parameter (repeatable); \${ENV_VAR} references read the environment
  --verbose            say what each operator decided (model contract, window sizes, ...)
  --metrics            print per-run counters and peak memory to stderr at the end
  --max-graph-bytes N  refuse graph files larger than N bytes (default 1048576)`,
  validate: `streamsx-stt validate <graph.yaml> [--param name=value]...
  Checks the graph without running it: YAML, keys, operator kinds and params, wiring, files, models.`,
  operators: `streamsx-stt operators [--markdown | --readme README.md]
  Lists every operator with its item kinds and parameters (--markdown: the README table;
  --readme FILE: rewrite the table between FILE's operators:begin/end markers).`,
  inspect: `streamsx-stt inspect <model.onnx> [--json]
  Prints a model's inputs, outputs, metadata and the contract OnnxSTT would use for it.`,
};

class UsageError extends Error {}

/** The installed package's version (package.json beside dist/, wherever the package is installed). */
function toolkitVersion(): string {
  return (JSON.parse(readFileSync(join(TOOLKIT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function parseParams(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param expects name=value, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

async function main(argv: string[]): Promise<number> {
  const own = argv[0] !== undefined && ownArgsCommands.has(argv[0]) ? commandExtensions[argv[0]] : undefined;
  if (own && !argv.slice(1).some((a) => a === '--help' || a === '-h')) {
    return own(argv.slice(1), { json: false, log: consoleLogger(argv.includes('--verbose') || argv.includes('-v')) });
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      param: { type: 'string', multiple: true, short: 'p' },
      verbose: { type: 'boolean', short: 'v' },
      metrics: { type: 'boolean' },
      markdown: { type: 'boolean' },
      readme: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
      'max-graph-bytes': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`streamsx-stt ${toolkitVersion()}\n`);
    return 0;
  }
  if (!command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (values.help) {
    const help = HELP[command] ?? commandHelp[command];
    process.stdout.write(`${help ?? USAGE}\n`);
    return help ? 0 : 2;
  }
  const log = consoleLogger(values.verbose ?? false);

  switch (command) {
    case 'operators':
      if (values.readme) {
        writeFileSync(values.readme, withOperatorsTable(readFileSync(values.readme, 'utf8'), operatorsMarkdown(OPERATORS)));
        return 0;
      }
      process.stdout.write(`${values.markdown ? operatorsMarkdown(OPERATORS) : operatorsText(OPERATORS)}\n`);
      return 0;
    case 'validate':
    case 'run': {
      if (rest.length !== 1) throw new UsageError(`${command} takes exactly one graph file`);
      const maxBytes = values['max-graph-bytes'] === undefined ? undefined : Number(values['max-graph-bytes']);
      if (maxBytes !== undefined && !(maxBytes > 0)) throw new UsageError('--max-graph-bytes must be a positive number');
      const plan = await loadGraphFile(resolveAsset(rest[0]), { registry: OPERATORS, params: parseParams(values.param), maxBytes });
      if (command === 'validate') {
        process.stdout.write(`${rest[0]}: ok (${plan.nodes.map((n) => `${n.id}:${n.spec.kind}`).join(' -> ')})\n`);
        return 0;
      }
      const controller = new AbortController();
      let signals = 0;
      const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals > 1) process.exit(sig === 'SIGINT' ? 130 : 143);
        // From now on a signal takes its default action: the process ends at once (the shell reports
        // 130/143) even when a blocking write (a stalled pipe) keeps this thread from running handlers.
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        log.info(`${sig}: stopping sources and flushing open streams (send again to exit at once)`);
        controller.abort(sig);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const started = performance.now();
      const result = await untilSettled(runPlan(plan, { log, signal: controller.signal }), `the run of ${rest[0]}`);
      if (values.metrics) {
        const seconds = (performance.now() - started) / 1000;
        log.info(`metrics: ${result.items} items, ${result.streamsEnded} streams ended, ${result.errors.length} errors, ${seconds.toFixed(2)} s, peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB`);
      }
      for (const e of result.errors) process.stderr.write(errorText(e));
      if (controller.signal.aborted) return controller.signal.reason === 'SIGINT' ? 130 : 143;
      return result.errors.length ? 1 : 0;
    }
    default: {
      const extension = commandExtensions[command];
      if (extension) {
        return extension(rest, { json: values.json ?? false, log, params: parseParams(values.param), port: values.port, host: values.host });
      }
      throw new UsageError(`unknown command '${command}'`);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof GraphError) {
      process.stderr.write(`${e.message}\n`);
    } else if (e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`streamsx-stt: ${(e as Error).message}\n(see streamsx-stt --help)\n`);
    } else {
      process.stderr.write(`streamsx-stt: ${(e as Error).message}\n`);
    }
    process.exitCode = 2;
  },
);
