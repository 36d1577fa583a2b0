import type { OperatorSpec } from '../toolkit/operator.js';

/** Every operator the toolkit ships; the graph loader, CLI and README table read this list. */
export const OPERATORS: OperatorSpec[] = [];
