/**
 * A graph must not write a file it reads: the Sink opens its file (truncating it) when the graph
 * starts, before the FileSource has read a byte of it, so the input would be lost. Files are compared
 * by what they are on disk (realpath: the same file under another name, through a symlink, counts).
 */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { PlanNode } from './load.js';

const identity = (file: string): string => {
  try {
    return realpathSync(file);
  } catch {
    return resolve(file); // not there yet: it cannot be an input either, unless named the same way
  }
};

/** Each node that would write a file another node reads: the writer's id and a one-line message. */
export async function overwrittenInputs(nodes: readonly PlanNode[]): Promise<Array<{ writer: string; message: string }>> {
  const readers = new Map<string, { node: PlanNode; file: string }>();
  for (const node of nodes) {
    for (const file of (await node.spec.readsFiles?.(node.params)) ?? []) readers.set(identity(file), { node, file });
  }
  const out: Array<{ writer: string; message: string }> = [];
  for (const node of nodes) {
    for (const file of node.spec.writesFiles?.(node.params) ?? []) {
      const reader = readers.get(identity(file));
      if (!reader) continue;
      out.push({
        writer: node.id,
        message: `${node.id} (${node.spec.kind}): file ${file} is also an input of ${reader.node.id} (${reader.node.spec.kind}${reader.file === file ? '' : `, as ${reader.file}`}): writing it would destroy it before it is read`,
      });
    }
  }
  return out;
}
