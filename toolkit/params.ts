import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { OperatorSpec } from './operator.js';

const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false, coerceTypes: false });
const compiled = new WeakMap<object, ValidateFunction>();

export function paramValidator(spec: OperatorSpec): ValidateFunction {
  let validate = compiled.get(spec.params);
  if (!validate) {
    validate = ajv.compile({ additionalProperties: false, ...spec.params });
    compiled.set(spec.params, validate);
  }
  return validate;
}

/** One readable line per ajv error, naming the parameter. */
export function describeAjvError(e: ErrorObject): { path: string[]; message: string } {
  const path = e.instancePath.split('/').filter(Boolean);
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    return { path: [...path, extra], message: `unknown parameter '${[...path, extra].join('.')}'` };
  }
  const name = path.length ? `parameter '${path.join('.')}'` : 'params';
  if (e.keyword === 'enum') {
    return { path, message: `${name} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
  }
  if (e.keyword === 'required') {
    const missing = String(e.params.missingProperty);
    return { path: [...path, missing], message: `missing required parameter '${[...path, missing].join('.')}'` };
  }
  return { path, message: `${name} ${e.message ?? 'is invalid'}` };
}

/** Validates and fills defaults (on a copy); throws one error listing every problem. */
export function validateParams(spec: OperatorSpec, params: unknown, where: string): Record<string, unknown> {
  const copy = structuredClone(params ?? {}) as Record<string, unknown>;
  const validate = paramValidator(spec);
  if (!validate(copy)) {
    const lines = (validate.errors ?? []).map((e) => `${where}: ${describeAjvError(e).message}`);
    throw new Error(lines.join('\n'));
  }
  return copy;
}
