import { describe, expect, it } from 'vitest';
import { apiBase } from './api';
import { formatBytes, mergeFlows } from './format';
import { describeDecision, policyQuery } from './policy';
import type { Flow, PolicyRef } from './types';

const ref = (p: PolicyRef): PolicyRef => p;

const f = (start: string, name: string): Flow => ({
  start, end: start, node: 'n', reporter: 'src', proto: 'tcp', dstPort: 80, action: 'allow', packets: 1, bytes: 1, flows: 1,
  src: { kind: 'wep', name }, dst: { kind: 'wep', name: 'd' },
  policy: { tier: 'default', kind: 'GlobalNetworkPolicy', name: 'p', rule: 0, direction: 'egress', trigger: 'rule' },
});

describe('mergeFlows', () => {
  it('puts new flows first, replaces repeated rows and caps the table', () => {
    const old = [f('t1', 'a'), f('t1', 'b')];
    const out = mergeFlows(old, [f('t2', 'a'), f('t1', 'b')], 3);
    expect(out.map((x) => `${x.start}/${x.src.name}`)).toEqual(['t1/b', 't2/a', 't1/a']);
  });
});

describe('policyQuery', () => {
  it('asks for global policies without a namespace', () => {
    expect(policyQuery(ref({ tier: 'default', kind: 'GlobalNetworkPolicy', namespace: 'x', name: 'allow-x', rule: 0, direction: 'ingress', trigger: 'rule' })))
      .toBe('kind=GlobalNetworkPolicy&namespace=&name=allow-x');
  });
  it('keeps the namespace of a NetworkPolicy', () => {
    expect(policyQuery(ref({ tier: 'default', kind: 'NetworkPolicy', namespace: 'shop', name: 'a b', rule: 1, direction: 'egress', trigger: 'rule' })))
      .toBe('kind=NetworkPolicy&namespace=shop&name=a+b');
  });
  it('keeps the namespace of a StagedNetworkPolicy', () => {
    expect(policyQuery({ kind: 'StagedNetworkPolicy', namespace: 'shop', name: 'tighten' })).toBe('kind=StagedNetworkPolicy&namespace=shop&name=tighten');
  });
  it('has nothing to fetch for the default deny', () => {
    expect(policyQuery(ref({ tier: '', kind: '', name: '', rule: -1, direction: 'ingress', trigger: 'default-deny' }))).toBeNull();
    expect(describeDecision(undefined, 'deny')).toMatch(/default deny/);
  });
});

describe('apiBase', () => {
  it('finds the API beside the console, under any prefix', () => {
    expect(apiBase('/console/')).toBe('/api/v1');
    expect(apiBase('/calico/console/x/y')).toBe('/calico/api/v1');
    expect(apiBase('/')).toBe('/api/v1');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50 MiB');
  });
});
