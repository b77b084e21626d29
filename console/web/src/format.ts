// Formatting of numbers, times and endpoints for the table.

import type { Flow } from './types';
import { endpointLabel } from './graph';

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(11, 19);
}

export function endpointCell(e: Flow['src']): string {
  const net = e.network ? ` · ${e.network}` : '';
  return `${endpointLabel(e)}${net}`;
}

export function portCell(f: Flow): string {
  return f.dstPort ? `${f.proto}/${f.dstPort}` : f.proto;
}

/** flowKey identifies a row, so a flow repeated by the stream replaces the old row. */
export function flowKey(f: Flow): string {
  const p = f.policy ?? {};
  return [f.start, f.node, f.reporter, f.src.kind, f.src.name, f.src.ip, f.dst.kind, f.dst.name, f.dst.ip,
    f.proto, f.dstPort, f.action, p.kind, p.namespace, p.name, p.rule].join('|');
}

/** mergeFlows puts incoming flows first, replaces rows with the same key and keeps at most limit rows. */
export function mergeFlows(existing: Flow[], incoming: Flow[], limit: number): Flow[] {
  const seen = new Set<string>();
  const out: Flow[] = [];
  for (const f of [...incoming].reverse().concat(existing)) {
    const k = flowKey(f);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(f);
    if (out.length >= limit) break;
  }
  return out;
}
