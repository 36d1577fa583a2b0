import type { Logger } from '../operator.js';

export interface ExtensionOptions {
  json: boolean;
  log: Logger;
}

/** CLI commands contributed by operator modules (e.g. `inspect` by OnnxSTT); each returns an exit code. */
export type CommandExtension = (args: string[], opts: ExtensionOptions) => Promise<number>;

export const commandExtensions: Record<string, CommandExtension> = {};
