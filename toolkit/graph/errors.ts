export interface GraphProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

export const formatProblem = (p: GraphProblem): string => `${p.file}:${p.line}:${p.col}: ${p.message}`;

/** Every problem found in a graph, reported together before anything runs. */
export class GraphError extends Error {
  constructor(readonly problems: GraphProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'GraphError';
  }
}
