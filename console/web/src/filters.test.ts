import { describe, expect, it } from 'vitest';
import { checkFilter, MAX_VALUE_LENGTH, parseFilters, sameFilters, toQuery } from './filters';

describe('parseFilters', () => {
  it('reads every filter and ignores other parameters', () => {
    const p = parseFilters('?action=deny&policy=default/allow-x&endpoint=web&network=net1&selector=role%20%3D%3D%20%27db%27&node=host-a&limit=5');
    expect(p.errors).toEqual([]);
    expect(p.filters).toEqual({ action: 'deny', policy: 'default/allow-x', endpoint: 'web', network: 'net1', selector: "role == 'db'", node: 'host-a' });
  });

  it('treats empty and blank values as no filter', () => {
    expect(parseFilters('action=&endpoint=%20%20').filters).toEqual({});
  });

  it('names the field and the fix for a bad action', () => {
    const p = parseFilters('action=drop');
    expect(p.filters).toEqual({});
    expect(p.errors).toEqual(['action: "drop" is not an action; use allow or deny']);
  });

  it('refuses a repeated filter', () => {
    const p = parseFilters('node=a&node=b');
    expect(p.filters).toEqual({ node: 'a' });
    expect(p.errors[0]).toMatch(/^node: given more than once/);
  });

  it('refuses huge values instead of truncating them', () => {
    const p = parseFilters('endpoint=' + 'x'.repeat(MAX_VALUE_LENGTH + 1));
    expect(p.filters).toEqual({});
    expect(p.errors[0]).toMatch(/^endpoint: 1025 bytes is too long; use at most 1024/);
    expect(checkFilter('endpoint', 'é'.repeat(513))).toMatch(/^endpoint: 1026 bytes is too long/);
  });

  it('takes since as a Go duration or an RFC 3339 time', () => {
    for (const ok of ['5m', '1h30m', '1.5h', '2026-12-06T09:00:00Z', '2026-12-06T09:00:00.5+01:00']) expect(checkFilter('since', ok)).toBe('');
    for (const bad of ['5', 'yesterday', '5 m', '2026-12-06', '-5m']) expect(checkFilter('since', bad)).toMatch(/^since: .* use e\.g\. 5m/);
  });

  it('catches a half-typed selector', () => {
    expect(checkFilter('selector', "role == 'db")).toMatch(/^selector: unbalanced/);
    expect(checkFilter('selector', '(a == "b"')).toMatch(/^selector: unbalanced/);
    expect(checkFilter('selector', "has(role) && role in {'a', 'b'}")).toBe('');
  });

  it('survives odd input', () => {
    for (const s of ['', '?', '&&&', '%', '%zz=1', 'a=%E0%A4%A', '=x', 'action']) {
      expect(() => parseFilters(s)).not.toThrow();
    }
  });
});

describe('toQuery', () => {
  it('writes filters in a fixed order, then the extras', () => {
    expect(toQuery({ node: 'n', action: 'deny', endpoint: '' }, { limit: 500 })).toBe('action=deny&node=n&limit=500');
  });

  it('round-trips through parseFilters', () => {
    const f = { action: 'allow', selector: "app == 'a b' && x != \"&=\"", policy: 'tier1/p' } as const;
    expect(parseFilters(toQuery(f)).filters).toEqual(f);
    expect(sameFilters(f, parseFilters('?' + toQuery(f)).filters)).toBe(true);
  });
});
