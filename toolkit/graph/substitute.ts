/**
 * `${name}` / `${name:default}` references in graph values. A string that is exactly one reference
 * takes the referenced value's type (a number stays a number, a list stays a list).
 */
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;
const WHOLE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}$/;

export type Lookup = (name: string) => unknown;

export function substitute(value: unknown, lookup: Lookup, onMissing: (name: string) => void): unknown {
  if (typeof value === 'string') {
    const whole = WHOLE.exec(value);
    if (whole) {
      const found = lookup(whole[1]);
      if (found !== undefined) return found;
      if (whole[2] !== undefined) return whole[2];
      onMissing(whole[1]);
      return value;
    }
    return value.replace(REFERENCE, (text, name: string, fallback: string | undefined) => {
      const found = lookup(name);
      if (found !== undefined) return String(found);
      if (fallback !== undefined) return fallback;
      onMissing(name);
      return text;
    });
  }
  if (Array.isArray(value)) return value.map((v) => substitute(v, lookup, onMissing));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, lookup, onMissing)]));
  }
  return value;
}

/** A `--param k=v` string takes the type of the graph's default for k. */
export function coerceOverride(text: string, defaultValue: unknown): unknown {
  if (typeof defaultValue === 'number') {
    const n = Number(text);
    return text.trim() !== '' && Number.isFinite(n) ? n : text;
  }
  if (typeof defaultValue === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  if (Array.isArray(defaultValue)) return text.split(',').map((s) => s.trim()).filter(Boolean);
  return text;
}
