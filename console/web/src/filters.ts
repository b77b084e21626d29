// Filters of the flow table: read from and written to the page's query
// string (so a filtered view is a link), and sent as is to the API, which
// applies them. Validation here mirrors the API's, to say what is wrong
// before asking; the API's 400 answer is shown when it disagrees.

export const FILTER_KEYS = ['action', 'policy', 'endpoint', 'network', 'selector', 'node', 'since'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

/** Longest filter value accepted, in UTF-8 bytes as the API counts; longer ones are errors, not truncated. */
export const MAX_VALUE_LENGTH = 1024;
/** Rows kept in the table and asked of the API. */
export const DEFAULT_LIMIT = 500;

// since takes a Go duration (5m, 1h30m) or an RFC 3339 time.
const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export interface ParsedFilters {
  filters: Filters;
  errors: string[];
}

function isFilterKey(k: string): k is FilterKey {
  return (FILTER_KEYS as readonly string[]).includes(k);
}

/** checkFilter returns the error of one value ("field: what; fix"), or "". */
export function checkFilter(key: FilterKey, value: string): string {
  const bytes = new TextEncoder().encode(value).length;
  if (bytes > MAX_VALUE_LENGTH) {
    return `${key}: ${bytes} bytes is too long; use at most ${MAX_VALUE_LENGTH}`;
  }
  if (key === 'action' && value !== 'allow' && value !== 'deny') {
    return `action: "${value}" is not an action; use allow or deny`;
  }
  if (key === 'since' && !GO_DURATION.test(value) && !RFC3339.test(value)) {
    return `since: "${value}" is neither a duration nor a time; use e.g. 5m, 1h30m or 2026-12-06T09:00:00Z`;
  }
  if (key === 'selector' && !balanced(value)) {
    return `selector: unbalanced parentheses or quotes in "${value}"; use a Calico selector such as role == 'db'`;
  }
  return '';
}

// balanced: parentheses and quotes pair up (the API parses the selector
// fully; this only catches what a half-typed selector looks like).
function balanced(s: string): boolean {
  let depth = 0;
  let quote = '';
  for (const c of s) {
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '(') {
      depth++;
    } else if (c === ')' && --depth < 0) {
      return false;
    }
  }
  return depth === 0 && quote === '';
}

/**
 * parseFilters reads filters from a query string ("?action=deny&node=a").
 * Keys other than the filters (limit, since, ...) are left to the API and
 * ignored here; empty values mean no filter; a repeated key is an error.
 */
export function parseFilters(search: string): ParsedFilters {
  const filters: Filters = {};
  const errors: string[] = [];
  const seen = new Set<string>();
  const params = new URLSearchParams(search.startsWith('?') ? search.slice(1) : search);
  for (const [rawKey, rawValue] of params) {
    const key = rawKey.trim();
    if (!isFilterKey(key)) continue;
    if (seen.has(key)) {
      errors.push(`${key}: given more than once; give each filter once`);
      continue;
    }
    seen.add(key);
    const value = rawValue.trim();
    if (value === '') continue;
    const err = checkFilter(key, value);
    if (err) {
      errors.push(err);
      continue;
    }
    filters[key] = value;
  }
  return { filters, errors };
}

/** toQuery writes filters (in FILTER_KEYS order) and extra parameters as a query string without "?". */
export function toQuery(filters: Filters, extra: Record<string, string | number> = {}): string {
  const p = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = filters[k];
    if (v !== undefined && v !== '') p.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) p.set(k, String(v));
  return p.toString();
}

/** sameFilters: equal as sets of non-empty values. */
export function sameFilters(a: Filters, b: Filters): boolean {
  return toQuery(a) === toQuery(b);
}
