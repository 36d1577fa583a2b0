import { Subject, connectable, merge, type Connectable, type Observable } from 'rxjs';
import type { StreamItem } from '../items.js';
import type { OperatorContext } from '../operator.js';
import type { Plan } from './load.js';

export interface BuiltGraph {
  /** Everything the graph's terminal nodes emit. */
  output$: Observable<StreamItem>;
  /** Starts fan-out nodes; call after subscribing to output$. */
  connect(): void;
}

/** Composes the operators' factories along the plan. Nodes read by several nodes are shared. */
export function buildGraph(plan: Plan, context: (nodeId: string) => OperatorContext): BuiltGraph {
  const readers = new Map<string, number>();
  for (const node of plan.nodes) for (const id of node.inputs) readers.set(id, (readers.get(id) ?? 0) + 1);

  const built = new Map<string, Observable<StreamItem>>();
  const shared: Connectable<StreamItem>[] = [];
  for (const node of plan.nodes) {
    const ctx = context(node.id);
    let out: Observable<StreamItem>;
    if (node.spec.role === 'source') {
      out = node.spec.create(node.params, ctx);
    } else {
      const inputs = node.inputs.map((id) => built.get(id)!);
      out = node.spec.create(node.params, ctx)(inputs.length === 1 ? inputs[0] : merge(...inputs));
    }
    if ((readers.get(node.id) ?? 0) > 1) {
      // Fan-out: every branch subscribes before the node starts, so none misses an item.
      const c = connectable(out, { connector: () => new Subject<StreamItem>(), resetOnDisconnect: false });
      shared.push(c);
      out = c;
    }
    built.set(node.id, out);
  }
  const terminals = plan.outputs.map((id) => built.get(id)!);
  return {
    output$: terminals.length === 1 ? terminals[0] : merge(...terminals),
    connect: () => shared.forEach((c) => c.connect()),
  };
}
