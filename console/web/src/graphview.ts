// Draws the endpoint graph as SVG: green edges allowed, red denied (an
// edge with both is drawn twice, bent apart). Clicking an endpoint filters
// the table to it.

import { svg } from './dom';
import { endpointLabel, layoutCircle, type Edge, type Graph, type Point } from './graph';
import { formatBytes } from './format';

const W = 640;
const H = 440;

function curve(a: Point, b: Point, bend: number): string {
  const mx = (a.x + b.x) / 2;
  const my = (a.y + b.y) / 2;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.hypot(dx, dy) || 1;
  const cx = mx - (dy / len) * bend;
  const cy = my + (dx / len) * bend;
  return `M${a.x},${a.y} Q${cx.toFixed(1)},${cy.toFixed(1)} ${b.x},${b.y}`;
}

function edgePaths(e: Edge, pos: Map<string, Point>): SVGElement[] {
  const a = pos.get(e.src);
  const b = pos.get(e.dst);
  if (!a || !b) return [];
  const out: SVGElement[] = [];
  const title = (what: string, t: Edge['allowed']) =>
    svg('title', {}, `${what}: ${t.flows} connection(s), ${t.packets} packets, ${formatBytes(t.bytes)}\n${e.policies.join(', ')}`);
  if (e.allowed.flows > 0 || e.allowed.packets > 0) {
    out.push(svg('path', { d: curve(a, b, 18), class: 'edge allow', 'marker-end': 'url(#arrow-allow)', 'data-testid': 'edge-allow' }, title('allowed', e.allowed)));
  }
  if (e.denied.flows > 0 || e.denied.packets > 0) {
    out.push(svg('path', { d: curve(a, b, -18), class: 'edge deny', 'marker-end': 'url(#arrow-deny)', 'data-testid': 'edge-deny' }, title('denied', e.denied)));
  }
  return out;
}

function marker(id: string, cls: string): SVGElement {
  return svg('marker', { id, viewBox: '0 0 10 10', refX: 22, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    svg('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
}

export function renderGraph(g: Graph, onPick: (name: string) => void): SVGElement {
  const pos = layoutCircle(g.nodes, W, H);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'endpoints and the traffic between them', class: 'graph' },
    svg('defs', {}, marker('arrow-allow', 'arrow allow'), marker('arrow-deny', 'arrow deny')));
  root.append(svg('g', { class: 'legend', transform: 'translate(10,16)' },
    svg('path', { d: 'M0,-4 H22', class: 'edge allow' }), svg('text', { x: 28 }, 'allowed'),
    svg('path', { d: 'M0,12 H22', class: 'edge deny' }), svg('text', { x: 28, y: 16 }, 'denied')));
  for (const e of g.edges) for (const p of edgePaths(e, pos)) root.append(p);
  for (const [k, ep] of g.nodes) {
    const p = pos.get(k)!;
    const label = endpointLabel(ep);
    const node = svg('g', { class: `node kind-${ep.kind}`, transform: `translate(${p.x},${p.y})`, 'data-testid': 'graph-node', tabindex: 0,
      onclick: () => onPick(ep.name || ep.ip || '') },
      svg('circle', { r: 12 }),
      svg('text', { y: 26, 'text-anchor': 'middle' }, label.length > 24 ? label.slice(0, 23) + '…' : label),
      svg('title', {}, `${label}\n${ep.kind}${ep.network ? ' on ' + ep.network : ''}${ep.ip ? ' ' + ep.ip : ''}${ep.node ? ' (node ' + ep.node + ')' : ''}`));
    root.append(node);
  }
  if (g.nodes.size === 0) root.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, 'No endpoints yet'));
  return root;
}
