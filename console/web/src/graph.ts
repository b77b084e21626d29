// The endpoint graph: endpoints are nodes, and each ordered pair of
// endpoints that exchanged traffic is an edge with what was allowed and
// what was denied between them.

import type { Endpoint, Flow } from './types';

export interface Totals {
  packets: number;
  bytes: number;
  flows: number;
}

export interface Edge {
  src: string; // endpoint keys
  dst: string;
  allowed: Totals;
  denied: Totals;
  policies: string[]; // deciding policies, sorted
}

export interface Graph {
  nodes: Map<string, Endpoint>;
  edges: Edge[];
}

/** endpointKey identifies an endpoint across flows: outside addresses by IP, others by node/namespace/name. */
export function endpointKey(e: Endpoint): string {
  if (e.kind === 'net' || !e.name) return `${e.kind}:${e.ip ?? e.name ?? '?'}`;
  return `${e.kind}:${e.node ?? ''}/${e.namespace ?? ''}/${e.name}`;
}

/** endpointLabel: what a person calls the endpoint. */
export function endpointLabel(e: Endpoint): string {
  if (e.kind === 'net') return e.ip ? `${e.ip} (${e.name || 'net'})` : e.name || 'net';
  return e.name || e.ip || '?';
}

/**
 * policyLabel names the deciding policy as the API's policy filter takes it
 * (tier/name), a profile as "profile NAME", and no policy as the default deny.
 */
export function policyLabel(f: Flow): string {
  const p = f.policy;
  if (!p || (!p.name && p.trigger === 'default-deny')) return 'default deny';
  if (p.kind === 'Profile') return `profile ${p.name}`;
  return p.tier ? `${p.tier}/${p.name}` : p.name || '(none)';
}

/** policyTitle: the full identity of the deciding rule, for tooltips. */
export function policyTitle(f: Flow): string {
  const p = f.policy;
  if (!p || !p.name) return policyLabel(f);
  const ns = p.namespace ? ` in namespace ${p.namespace}` : '';
  const rule = p.trigger === 'rule' ? `rule ${p.rule}` : p.trigger;
  return `${p.kind} ${policyLabel(f)}${ns}, ${rule} (${p.direction})`;
}

const zero = (): Totals => ({ packets: 0, bytes: 0, flows: 0 });

function add(t: Totals, f: Flow): void {
  t.packets += f.packets;
  t.bytes += f.bytes;
  t.flows += f.flows;
}

function maxOf(a: Totals, b: Totals): Totals {
  return { packets: Math.max(a.packets, b.packets), bytes: Math.max(a.bytes, b.bytes), flows: Math.max(a.flows, b.flows) };
}

/**
 * aggregateEdges folds flows into the graph. Both ends of a connection may
 * report it (reporter src for egress policy, dst for ingress), so each
 * action's totals are the larger of the two reporters' sums rather than
 * their sum: traffic is counted once. Known endpoints without traffic
 * become nodes without edges.
 */
export function aggregateEdges(flows: Flow[], known: Endpoint[] = []): Graph {
  const nodes = new Map<string, Endpoint>();
  for (const e of known) nodes.set(endpointKey(e), e);
  type Acc = { src: string; dst: string; by: Record<string, Totals>; policies: Set<string> };
  const acc = new Map<string, Acc>();
  for (const f of flows) {
    const s = endpointKey(f.src);
    const d = endpointKey(f.dst);
    if (!nodes.has(s)) nodes.set(s, f.src);
    if (!nodes.has(d)) nodes.set(d, f.dst);
    const k = `${s}\u0000${d}`;
    let a = acc.get(k);
    if (!a) {
      a = { src: s, dst: d, by: {}, policies: new Set() };
      acc.set(k, a);
    }
    const slot = `${f.action === 'deny' ? 'deny' : 'allow'}/${f.reporter === 'dst' ? 'dst' : 'src'}`;
    add((a.by[slot] ??= zero()), f);
    a.policies.add(policyLabel(f));
  }
  const edges: Edge[] = [];
  for (const a of acc.values()) {
    const z = zero();
    edges.push({
      src: a.src,
      dst: a.dst,
      allowed: maxOf(a.by['allow/src'] ?? z, a.by['allow/dst'] ?? z),
      denied: maxOf(a.by['deny/src'] ?? z, a.by['deny/dst'] ?? z),
      policies: [...a.policies].sort(),
    });
  }
  edges.sort((x, y) => (x.src + x.dst < y.src + y.dst ? -1 : x.src + x.dst > y.src + y.dst ? 1 : 0));
  return { nodes, edges };
}

export interface Point {
  x: number;
  y: number;
}

/**
 * layoutCircle places nodes on a circle, grouped by network then name, so
 * the picture stays put as flows arrive. One node sits in the centre.
 */
export function layoutCircle(nodes: Map<string, Endpoint>, width: number, height: number): Map<string, Point> {
  const keys = [...nodes.keys()].sort((a, b) => {
    const ea = nodes.get(a)!;
    const eb = nodes.get(b)!;
    const ka = `${ea.network ?? '~'}\u0000${endpointLabel(ea)}\u0000${a}`;
    const kb = `${eb.network ?? '~'}\u0000${endpointLabel(eb)}\u0000${b}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const out = new Map<string, Point>();
  const cx = width / 2;
  const cy = height / 2;
  if (keys.length === 1) {
    out.set(keys[0], { x: cx, y: cy });
    return out;
  }
  const r = Math.max(10, Math.min(width, height) / 2 - 60);
  keys.forEach((k, i) => {
    const a = (2 * Math.PI * i) / keys.length - Math.PI / 2;
    out.set(k, { x: Math.round(cx + r * Math.cos(a)), y: Math.round(cy + r * Math.sin(a)) });
  });
  return out;
}

/**
 * busiest keeps the max endpoints with the most traffic (allowed and
 * denied packets, in and out; ties by key) and the edges between them, so a
 * busy node's graph stays readable. It returns how many were left out.
 */
export function busiest(g: Graph, max: number): { graph: Graph; hidden: number } {
  if (g.nodes.size <= max) return { graph: g, hidden: 0 };
  const load = new Map<string, number>();
  for (const k of g.nodes.keys()) load.set(k, 0);
  for (const e of g.edges) {
    const n = e.allowed.packets + e.denied.packets + e.allowed.flows + e.denied.flows;
    load.set(e.src, (load.get(e.src) ?? 0) + n);
    load.set(e.dst, (load.get(e.dst) ?? 0) + n);
  }
  const keep = new Set([...load.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, max).map(([k]) => k));
  const nodes = new Map([...g.nodes].filter(([k]) => keep.has(k)));
  const edges = g.edges.filter((e) => keep.has(e.src) && keep.has(e.dst));
  return { graph: { nodes, edges }, hidden: g.nodes.size - nodes.size };
}
