// The console page: a live flow table with filters, the endpoint graph,
// and the policy that decided a flow. State lives here; the logic is in
// filters.ts, graph.ts, format.ts and policy.ts (unit-tested).

import './style.css';
import { apiBase, getPolicy, listEndpoints, listFlows, streamFlows } from './api';
import { el } from './dom';
import { checkFilter, DEFAULT_LIMIT, FILTER_KEYS, parseFilters, toQuery, type FilterKey, type Filters } from './filters';
import { endpointCell, flowKey, formatBytes, formatTime, mergeFlows, portCell } from './format';
import { aggregateEdges, busiest, endpointLabel, policyLabel, policyTitle } from './graph';
import { renderGraph } from './graphview';
import { describeDecision, policyQuery } from './policy';
import type { Endpoint, Flow } from './types';

const base = apiBase(location.pathname);
/** Endpoints drawn at most; the busiest are kept. */
const MAX_GRAPH_NODES = 40;

const state = {
  filters: {} as Filters,
  flows: [] as Flow[],
  endpoints: [] as Endpoint[],
  node: '',
  dropped: 0,
  selected: '',
  stopStream: () => {},
  abort: new AbortController(),
};

const status = el('span', { class: 'status', 'data-testid': 'status' }, 'loading');
const errors = el('div', { class: 'errors', role: 'alert', 'data-testid': 'errors' });
const tbody = el('tbody');
const graphBox = el('div', { class: 'graph-box' });
const detail = el('section', { class: 'detail', 'data-testid': 'detail', hidden: true });
const inputs = {} as Record<FilterKey, HTMLInputElement | HTMLSelectElement>;

function showErrors(msgs: string[]): void {
  errors.replaceChildren(...msgs.map((m) => el('div', {}, m)));
}

const PLACEHOLDERS: Partial<Record<FilterKey, string>> = { selector: "role == 'db'", policy: 'tier/name or part', since: '5m or a time' };

function filterForm(): HTMLFormElement {
  const fields = FILTER_KEYS.map((k) => {
    const input =
      k === 'action'
        ? el('select', { name: k, id: `f-${k}` }, el('option', { value: '' }, 'any'), el('option', { value: 'allow' }, 'allow'), el('option', { value: 'deny' }, 'deny'))
        : el('input', { name: k, id: `f-${k}`, type: 'text', spellcheck: 'false', maxlength: 1024,
            placeholder: PLACEHOLDERS[k] ?? '' });
    inputs[k] = input;
    return el('label', { for: `f-${k}` }, el('span', {}, k), input);
  });
  const form = el('form', { class: 'filters', 'data-testid': 'filters' }, ...fields,
    el('button', { type: 'submit' }, 'Apply'),
    el('button', { type: 'button', class: 'secondary', onclick: () => setFilters({}) }, 'Clear'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const f: Filters = {};
    const errs: string[] = [];
    for (const k of FILTER_KEYS) {
      const v = inputs[k].value.trim();
      if (!v) continue;
      const err = checkFilter(k, v);
      if (err) errs.push(err);
      else f[k] = v;
    }
    if (errs.length) showErrors(errs);
    else setFilters(f);
  });
  return form;
}

function setFilters(f: Filters): void {
  state.filters = f;
  for (const k of FILTER_KEYS) inputs[k].value = f[k] ?? '';
  const q = toQuery(f);
  history.replaceState(null, '', q ? `?${q}` : location.pathname);
  void reload();
}

async function reload(): Promise<void> {
  state.abort.abort();
  state.stopStream();
  state.abort = new AbortController();
  const signal = state.abort.signal;
  const query = toQuery(state.filters, { limit: DEFAULT_LIMIT });
  showErrors([]);
  status.textContent = 'loading';
  try {
    const [list, eps] = await Promise.all([listFlows(base, query, signal), listEndpoints(base, signal).catch(() => ({ endpoints: [] }))]);
    state.flows = list.flows ?? [];
    state.node = list.node ?? '';
    state.dropped = list.dropped ?? 0;
    state.endpoints = eps.endpoints ?? [];
  } catch (e) {
    if (signal.aborted) return;
    state.flows = [];
    status.textContent = 'error';
    showErrors([String((e as Error).message)]);
    render();
    return;
  }
  render();
  state.stopStream = streamFlows(base, toQuery(state.filters), (f) => {
    state.flows = mergeFlows(state.flows, [f], DEFAULT_LIMIT);
    scheduleRender();
  }, (s) => {
    status.textContent = s;
  });
}

let pending = false;
function scheduleRender(): void {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    render();
  }, 200);
}

function render(): void {
  if (status.textContent === 'loading') status.textContent = 'connecting';
  document.querySelector('[data-testid=node]')!.textContent = state.node ? `node ${state.node}` : '';
  document.querySelector('[data-testid=dropped]')!.textContent = state.dropped ? `${state.dropped} flows dropped to stay within the limit` : '';
  tbody.replaceChildren(...state.flows.map(row));
  if (state.flows.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No flows match.')));
  const local = state.endpoints.filter((e) => !state.filters.node || e.node === state.filters.node);
  const { graph, hidden } = busiest(aggregateEdges(state.flows, hasFilters() ? [] : local), MAX_GRAPH_NODES);
  graphBox.replaceChildren(renderGraph(graph, (name) => {
    if (name) setFilters({ ...state.filters, endpoint: name });
  }), ...(hidden ? [el('p', { class: 'muted note' }, `${hidden} quieter endpoints not drawn; filter to see them`)] : []));
}

const hasFilters = () => Object.keys(state.filters).length > 0;

function row(f: Flow): HTMLTableRowElement {
  const k = flowKey(f);
  const tr = el('tr', { class: `flow ${f.action}${k === state.selected ? ' selected' : ''}`, 'data-testid': 'flow-row', 'data-action': f.action, tabindex: 0,
    title: 'show the policy that decided this flow' },
    el('td', {}, formatTime(f.end)),
    endpointTd(f.src),
    endpointTd(f.dst),
    el('td', {}, portCell(f)),
    el('td', {}, el('span', { class: `badge ${f.action}` }, f.action)),
    el('td', { class: 'policy', title: policyTitle(f) }, policyLabel(f),
      f.policy?.trigger === 'rule' && f.policy.kind !== 'Profile' ? el('span', { class: 'muted' }, ` #${f.policy.rule}`) : null,
      f.staged?.length ? el('span', { class: 'staged', title: 'staged policies would decide too' }, ' +staged') : null),
    el('td', { class: 'num' }, String(f.packets)),
    el('td', { class: 'num' }, formatBytes(f.bytes)),
    el('td', {}, f.node));
  const pick = () => void showFlow(f);
  tr.addEventListener('click', pick);
  tr.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') pick();
  });
  return tr;
}

function endpointTd(e: Endpoint): HTMLTableCellElement {
  return el('td', { title: [e.kind, e.ip, e.node && `node ${e.node}`].filter(Boolean).join(' · ') }, endpointLabel(e),
    e.network ? el('span', { class: 'muted' }, ` ${e.network}`) : null);
}

async function showFlow(f: Flow): Promise<void> {
  state.selected = flowKey(f);
  for (const tr of tbody.querySelectorAll('tr.selected')) tr.classList.remove('selected');
  render();
  const yaml = el('pre', { class: 'yaml', 'data-testid': 'policy-yaml' }, 'loading…');
  const staged = (f.staged ?? []).map((s) => el('li', {}, `${s.kind} ${s.tier}/${s.name} would ${s.action} (rule ${s.rule}, ${s.direction}) `,
    el('button', { type: 'button', class: 'link', onclick: () => void loadPolicy(yaml, policyQuery(s)) }, 'show')));
  detail.replaceChildren(
    el('header', {}, el('h2', {}, `${endpointCell(f.src)} → ${endpointCell(f.dst)} ${portCell(f)}`),
      el('button', { type: 'button', class: 'secondary', onclick: () => { detail.hidden = true; state.selected = ''; render(); } }, 'Close')),
    el('p', { 'data-testid': 'decision' }, describeDecision(f.policy, f.action), ` — reported by the ${f.reporter === 'dst' ? 'destination' : 'source'} side on node ${f.node}`),
    ...(staged.length ? [el('ul', { class: 'staged-list' }, ...staged)] : []),
    yaml);
  detail.hidden = false;
  await loadPolicy(yaml, policyQuery(f.policy));
}

/** loadPolicy shows the YAML of the policy q names in pre. */
async function loadPolicy(pre: HTMLElement, q: string | null): Promise<void> {
  pre.classList.remove('error');
  if (!q) {
    pre.textContent = '# No stored policy decided this flow.';
    return;
  }
  pre.textContent = 'loading…';
  try {
    pre.textContent = await getPolicy(base, q);
  } catch (e) {
    pre.textContent = `# ${(e as Error).message}`;
    pre.classList.add('error');
  }
}

function page(): void {
  const table = el('table', { class: 'flows', 'data-testid': 'flows' },
    el('thead', {}, el('tr', {}, ...['time (UTC)', 'source', 'destination', 'port', 'action', 'policy', 'packets', 'bytes', 'node'].map((h) => el('th', {}, h)))),
    tbody);
  document.body.replaceChildren(
    el('header', { class: 'top' }, el('h1', {}, 'Calico flows'), el('span', { 'data-testid': 'node' }), status, el('span', { class: 'dropped', 'data-testid': 'dropped' })),
    filterForm(),
    errors,
    el('main', {}, el('section', { class: 'table-box' }, table), el('section', { class: 'side' }, el('h2', {}, 'Endpoints'), graphBox, detail)));
}

page();
const parsed = parseFilters(location.search);
setFilters(parsed.filters);
if (parsed.errors.length) showErrors(parsed.errors);
