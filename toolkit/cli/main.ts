#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GraphError } from '../graph/errors.js';
import { consoleLogger } from '../operator.js';
import { TOOLKIT_ROOT } from '../paths.js';
import { parseParams, UsageError } from './command.js';
import { findCommand } from './commands/index.js';

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

/** The installed package's version (package.json beside dist/, wherever the package is installed). */
function toolkitVersion(): string {
  return (JSON.parse(readFileSync(join(TOOLKIT_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const own = findCommand(argv[0]);
  if (own?.ownArgs && !argv.slice(1).some((a) => a === '--help' || a === '-h')) {
    return own.run(argv.slice(1), { log: consoleLogger(argv.includes('--verbose') || argv.includes('-v')) });
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
    const help = findCommand(command)?.help;
    process.stdout.write(`${help ?? USAGE}\n`);
    return help ? 0 : 2;
  }
  const found = findCommand(command);
  if (!found) throw new UsageError(`unknown command '${command}'`);
  // An own-arguments command reached through these options (`streamsx-stt -v worker ...`) still refuses a malformed --param.
  if (found.ownArgs) parseParams(values.param);
  return found.run(rest, { ...values, log: consoleLogger(values.verbose ?? false) });
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
