/**
 * What a CLI command is: a name, its `--help` text and a function from arguments to an exit status.
 * Every command lives in toolkit/cli/commands/<name>.ts and is listed once in commands/index.ts;
 * operators never register commands (they export plain functions the commands call).
 */
import type { Logger } from '../operator.js';

/** Options main.ts parsed for the commands that share its option set. */
export interface CommandOptions {
  log: Logger;
  /** The raw `--param name=value` strings (parse them with parseParams). */
  param?: string[];
  verbose?: boolean;
  metrics?: boolean;
  markdown?: boolean;
  readme?: string;
  json?: boolean;
  'max-graph-bytes'?: string;
  port?: string;
  host?: string;
}

export interface Command {
  name: string;
  /** `streamsx-stt <name> --help`. */
  help: string;
  /** Parses its own arguments (the raw ones after the command name) instead of main.ts's option set. */
  ownArgs?: boolean;
  /** Returns the exit status: 0 success, 1 some stream failed, 2 bad usage or graph. */
  run(args: string[], opts: CommandOptions): Promise<number>;
}

/** Bad usage: main.ts prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {}

/** `--param name=value` pairs (repeatable), the one parser every command uses. */
export function parseParams(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param expects name=value, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
