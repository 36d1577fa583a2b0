import type { Logger } from '../operator.js';

export interface ExtensionOptions {
  json: boolean;
  log: Logger;
  /** `--param name=value` pairs, `--port`, `--host` (the `serve` command). */
  params?: Record<string, string>;
  port?: string;
  host?: string;
}

/** CLI commands contributed by operator modules (e.g. `inspect` by OnnxSTT); each returns an exit code. */
export type CommandExtension = (args: string[], opts: ExtensionOptions) => Promise<number>;

export const commandExtensions: Record<string, CommandExtension> = {};

/** `streamsx-stt <command> --help` text for contributed commands. */
export const commandHelp: Record<string, string> = {};

/** Contributed commands that parse their own options (the raw arguments after the command name). */
export const ownArgsCommands = new Set<string>();
