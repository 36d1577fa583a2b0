/**
 * Every CLI command, listed once. A new command is a file beside this one exporting a `Command`, added
 * to this list; nothing registers commands at import time.
 */
import type { Command } from '../command.js';
import { inspect } from './inspect.js';
import { operators } from './operators.js';
import { produce } from './produce.js';
import { run } from './run.js';
import { serve } from './serve.js';
import { validate } from './validate.js';
import { worker } from './worker.js';

export const COMMANDS: readonly Command[] = Object.freeze([run, validate, operators, inspect, serve, worker, produce]);

export function findCommand(name: string | undefined): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
