/** `streamsx-stt operators`: every operator's item kinds and params (text, the README table, or the README rewritten). */
import { readFileSync, writeFileSync } from 'node:fs';
import { OPERATORS } from '../../../operators/index.js';
import type { Command } from '../command.js';
import { operatorsMarkdown, operatorsText, withOperatorsTable } from '../operators-table.js';

export const operators: Command = {
  name: 'operators',
  help: `streamsx-stt operators [--markdown | --readme README.md]
  Lists every operator with its item kinds and parameters (--markdown: the README table;
  --readme FILE: rewrite the table between FILE's operators:begin/end markers).`,
  async run(_args, opts) {
    if (opts.readme) {
      writeFileSync(opts.readme, withOperatorsTable(readFileSync(opts.readme, 'utf8'), operatorsMarkdown(OPERATORS)));
      return 0;
    }
    process.stdout.write(`${opts.markdown ? operatorsMarkdown(OPERATORS) : operatorsText(OPERATORS)}\n`);
    return 0;
  },
};
