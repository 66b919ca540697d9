// The apiserver's fieldSelector query syntax, as far as every resource supports it:
// metadata.name and metadata.namespace with =, == and !=, joined by commas. Any other field is
// refused the way the real server refuses it (400, "field label not supported").

export type FieldPredicate = (obj: any) => boolean;

export interface FieldSelector {
  matches: FieldPredicate;
  /** the one name an exact metadata.name term pins, which the authorizer treats as a named request */
  name?: string;
}

const FIELDS: Record<string, (obj: any) => string> = {
  'metadata.name': (o) => o?.metadata?.name ?? '',
  'metadata.namespace': (o) => o?.metadata?.namespace ?? '',
};

export class FieldSelectorError extends Error {}

export function parseFieldSelector(s: string | null): FieldSelector {
  if (!s) return { matches: () => true };
  let name: string | undefined;
  const terms = s.split(',').map((term) => {
    const m = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw new FieldSelectorError(`invalid field selector term "${term}"`);
    const [, field, op, value] = m;
    const read = FIELDS[field];
    if (!read) throw new FieldSelectorError(`field label not supported: ${field}`);
    if (field === 'metadata.name' && op !== '!=') name = value;
    return op === '!=' ? (o: any) => read(o) !== value : (o: any) => read(o) === value;
  });
  return { matches: (obj) => terms.every((t) => t(obj)), ...(name !== undefined ? { name } : {}) };
}
