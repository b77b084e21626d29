import { describe, expect, it } from 'vitest';
import { aggregateEdges, busiest, endpointKey, layoutCircle, policyLabel, policyTitle } from './graph';
import type { Endpoint, Flow } from './types';

const ep = (name: string, extra: Partial<Endpoint> = {}): Endpoint => ({ kind: 'wep', name, namespace: 'default', network: 'net1', node: 'host-a', ...extra });

function flow(src: Endpoint, dst: Endpoint, action: 'allow' | 'deny', reporter: 'src' | 'dst', packets: number, policy = 'p'): Flow {
  return {
    start: '2026-12-06T09:00:00Z', end: '2026-12-06T09:00:15Z', node: 'host-a', reporter, src, dst, proto: 'tcp', dstPort: 80, action,
    policy: { tier: 'default', kind: 'GlobalNetworkPolicy', name: policy, rule: 0, direction: reporter === 'src' ? 'egress' : 'ingress', trigger: 'rule' },
    packets, bytes: packets * 100, flows: 1,
  };
}

describe('aggregateEdges', () => {
  const a = ep('client');
  const b = ep('server');
  const c = ep('fruitstore');

  it('counts a connection reported by both ends once', () => {
    const g = aggregateEdges([flow(a, b, 'allow', 'src', 10), flow(a, b, 'allow', 'dst', 10)]);
    expect(g.edges).toHaveLength(1);
    expect(g.edges[0].allowed).toEqual({ packets: 10, bytes: 1000, flows: 1 });
    expect(g.edges[0].denied).toEqual({ packets: 0, bytes: 0, flows: 0 });
  });

  it('sums intervals of the same reporter and keeps directions apart', () => {
    const g = aggregateEdges([flow(a, b, 'allow', 'src', 3), flow(a, b, 'allow', 'src', 4), flow(b, a, 'allow', 'src', 1)]);
    const ab = g.edges.find((e) => e.src === endpointKey(a) && e.dst === endpointKey(b))!;
    const ba = g.edges.find((e) => e.src === endpointKey(b) && e.dst === endpointKey(a))!;
    expect(ab.allowed.packets).toBe(7);
    expect(ab.allowed.flows).toBe(2);
    expect(ba.allowed.packets).toBe(1);
  });

  it('keeps allowed and denied traffic on one edge apart, with the deciding policies', () => {
    const g = aggregateEdges([flow(c, b, 'deny', 'dst', 5, 'allow-bookstore-cliient-to-server'), flow(c, b, 'allow', 'src', 2, 'egress-ok')]);
    expect(g.edges).toHaveLength(1);
    expect(g.edges[0].denied.packets).toBe(5);
    expect(g.edges[0].allowed.packets).toBe(2);
    expect(g.edges[0].policies).toEqual(['default/allow-bookstore-cliient-to-server', 'default/egress-ok']);
  });

  it('adds known endpoints without traffic as nodes and merges them with flow endpoints', () => {
    const g = aggregateEdges([flow(a, b, 'allow', 'src', 1)], [ep('client'), ep('idle')]);
    expect([...g.nodes.keys()].sort()).toEqual([endpointKey(a), endpointKey(b), endpointKey(ep('idle'))].sort());
  });

  it('keys outside addresses by IP', () => {
    const n1 = { kind: 'net', name: 'pub', ip: '203.0.113.5' };
    const n2 = { kind: 'net', name: 'pub', ip: '203.0.113.6' };
    const g = aggregateEdges([flow(a, n1, 'deny', 'src', 1), flow(a, n2, 'deny', 'src', 1)]);
    expect(g.nodes.size).toBe(3);
    expect(g.edges).toHaveLength(2);
  });
});

describe('policyLabel', () => {
  it('names the default deny when no policy decided', () => {
    const f = flow(ep('a'), ep('b'), 'deny', 'dst', 1);
    f.policy = { tier: '', kind: '', name: '', rule: -1, direction: 'ingress', trigger: 'default-deny' };
    expect(policyLabel(f)).toBe('default deny');
  });
  it('names a policy by tier/name, as the policy filter takes it, and says the rest in the title', () => {
    const f = flow(ep('a'), ep('b'), 'allow', 'dst', 1);
    f.policy = { ...f.policy, kind: 'NetworkPolicy', namespace: 'shop', name: 'web', tier: 'security', rule: 2 };
    expect(policyLabel(f)).toBe('security/web');
    expect(policyTitle(f)).toBe('NetworkPolicy security/web in namespace shop, rule 2 (ingress)');
  });
  it('names a profile', () => {
    const f = flow(ep('a'), ep('b'), 'allow', 'src', 1);
    f.policy = { ...f.policy, kind: 'Profile', name: 'shop', tier: '' };
    expect(policyLabel(f)).toBe('profile shop');
  });
});

describe('layoutCircle', () => {
  it('places every node inside the box, deterministically', () => {
    const nodes = new Map([ep('a'), ep('b'), ep('c')].map((e) => [endpointKey(e), e]));
    const p1 = layoutCircle(nodes, 600, 400);
    const p2 = layoutCircle(new Map([...nodes].reverse()), 600, 400);
    expect(p1).toEqual(p2);
    for (const p of p1.values()) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(600);
      expect(p.y).toBeGreaterThanOrEqual(0);
      expect(p.y).toBeLessThanOrEqual(400);
    }
  });
});

describe('busiest', () => {
  it('keeps the endpoints with the most traffic and the edges between them', () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => ep(n));
    const g = aggregateEdges([flow(a, b, 'allow', 'src', 100), flow(c, b, 'deny', 'dst', 50), flow(d, a, 'allow', 'src', 1)]);
    const { graph, hidden } = busiest(g, 3);
    expect(hidden).toBe(1);
    expect([...graph.nodes.keys()].sort()).toEqual([a, b, c].map(endpointKey).sort());
    expect(graph.edges.map((e) => `${e.src}>${e.dst}`)).toEqual([`${endpointKey(a)}>${endpointKey(b)}`, `${endpointKey(c)}>${endpointKey(b)}`]);
  });
  it('leaves a small graph alone', () => {
    const g = aggregateEdges([flow(ep('a'), ep('b'), 'allow', 'src', 1)]);
    expect(busiest(g, 40)).toEqual({ graph: g, hidden: 0 });
  });
});
