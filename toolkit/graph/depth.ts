/**
 * How deep a graph may be. Each node is one RxJS operator wrapped around its upstream, so subscribing
 * to a chain of N nodes (and unsubscribing from it) nests O(N) calls: around 850 nodes overflow the
 * stack (measured on Node 20: 700 run, 850 throw), and with a few thousand the overflow used to be
 * swallowed inside RxJS and the run ended with nothing done. The limit leaves a 3x margin; real graphs
 * are a few dozen nodes deep.
 */
export const MAX_GRAPH_DEPTH = 256;

interface DepthNode {
  id: string;
  inputs: string[];
}

/** The longest chain of nodes (counted in nodes) in a graph whose nodes are in topological order, and the node it ends at. */
export function deepestChain(ordered: readonly DepthNode[]): { depth: number; endsAt?: string } {
  const depth = new Map<string, number>();
  let deepest: { depth: number; endsAt?: string } = { depth: 0 };
  for (const node of ordered) {
    const d = 1 + Math.max(0, ...node.inputs.map((id) => depth.get(id) ?? 0));
    depth.set(node.id, d);
    if (d > deepest.depth) deepest = { depth: d, endsAt: node.id };
  }
  return deepest;
}

/** The one-line problem with a graph too deep to run, or undefined. */
export function depthProblem(ordered: readonly DepthNode[]): { message: string; nodeId: string } | undefined {
  const { depth, endsAt } = deepestChain(ordered);
  if (depth <= MAX_GRAPH_DEPTH || !endsAt) return undefined;
  return { nodeId: endsAt, message: `${endsAt}: a chain of ${depth} nodes ends here, over the limit of ${MAX_GRAPH_DEPTH} nodes the runner can run in one chain` };
}
