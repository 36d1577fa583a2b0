export interface GraphNodeDocument {
  id: string;
  kind: string;
  params?: Record<string, unknown>;
  inputs?: string[];
  description?: string;
}

export interface GraphDocument {
  name: string;
  description?: string;
  params?: Record<string, unknown>;
  nodes: GraphNodeDocument[];
}

/** The structure of a graph YAML file; each node's params are checked by its operator's own schema. */
export const GRAPH_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'nodes'],
  properties: {
    name: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    params: {
      type: 'object',
      propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
      additionalProperties: { type: ['string', 'number', 'boolean', 'array'] },
    },
    nodes: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'kind'],
        properties: {
          id: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_-]*$' },
          kind: { type: 'string' },
          description: { type: 'string' },
          params: { type: 'object' },
          inputs: { type: 'array', items: { type: 'string' }, minItems: 1 },
        },
      },
    },
  },
} as const;
