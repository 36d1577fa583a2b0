import type { OperatorSpec } from '../operator.js';

interface PropertySchema {
  type?: string | string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
}

function paramSummary(spec: OperatorSpec): string {
  const props = spec.params.properties as Record<string, PropertySchema>;
  return Object.entries(props)
    .map(([name, p]) => (p.default === undefined ? `\`${name}\`` : `\`${name}\`=${JSON.stringify(p.default)}`))
    .join(', ');
}

/** The README's operator table, generated from the same specs the loader validates against. */
export function operatorsMarkdown(specs: OperatorSpec[]): string {
  const rows = specs.map((s) => {
    const io = s.role === 'source' ? `— → ${s.output}` : `${s.input.join(' \\| ')} → ${s.output}`;
    return `| ${s.kind} | ${io} | ${s.description} | ${paramSummary(s)} |`;
  });
  return ['| Operator | Items | What it does | Params (defaults) |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export function operatorsText(specs: OperatorSpec[]): string {
  return specs
    .map((s) => {
      const io = s.role === 'source' ? `source -> ${s.output}` : `${s.input.join('|')} -> ${s.output}`;
      const props = s.params.properties as Record<string, PropertySchema>;
      const params = Object.entries(props).map(([name, p]) => {
        const type = Array.isArray(p.type) ? p.type.join('|') : p.type ?? (p.enum ? p.enum.map(String).join('|') : 'any');
        const def = p.default === undefined ? '' : ` = ${JSON.stringify(p.default)}`;
        return `    ${name}: ${type}${def}${p.description ? `  — ${p.description}` : ''}`;
      });
      return [`${s.kind}  (${io})`, `  ${s.description}`, ...params].join('\n');
    })
    .join('\n\n');
}

const BEGIN = '<!-- operators:begin -->';
const END = '<!-- operators:end -->';

/** Replaces the generated table between the README's markers (and says whether anything changed). */
export function withOperatorsTable(readme: string, table: string): string {
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`the README has no ${BEGIN} ... ${END} markers`);
  return `${readme.slice(0, start + BEGIN.length)}\n${table}\n${readme.slice(end)}`;
}
