// Calls to the flows API. The page is served at <prefix>/console/ and the
// API at <prefix>/api/v1/ on the same listener.

import type { EndpointList, Flow, FlowList } from './types';

export function apiBase(pathname: string): string {
  const i = pathname.indexOf('/console/');
  const prefix = i >= 0 ? pathname.slice(0, i) : '';
  return `${prefix}/api/v1`;
}

/** APIError carries the API's {"error": "..."} message. */
export class APIError extends Error {}

async function errorOf(r: Response): Promise<APIError> {
  const text = await r.text();
  try {
    const body = JSON.parse(text) as { error?: string };
    if (body.error) return new APIError(body.error);
  } catch {
    // not JSON: fall through
  }
  return new APIError(`${r.status} ${r.statusText}${text ? ': ' + text.slice(0, 200) : ''}`);
}

export async function getJSON<T>(url: string, signal?: AbortSignal): Promise<T> {
  const r = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  if (!r.ok) throw await errorOf(r);
  return (await r.json()) as T;
}

export async function getText(url: string, signal?: AbortSignal): Promise<string> {
  const r = await fetch(url, { signal, headers: { Accept: 'application/yaml, text/plain' } });
  if (!r.ok) throw await errorOf(r);
  return r.text();
}

export const listFlows = (base: string, query: string, signal?: AbortSignal) =>
  getJSON<FlowList>(`${base}/flows?${query}`, signal);

export const listEndpoints = (base: string, signal?: AbortSignal) =>
  getJSON<EndpointList>(`${base}/endpoints`, signal);

export const getPolicy = (base: string, query: string, signal?: AbortSignal) => getText(`${base}/policy?${query}`, signal);

/** streamFlows follows the SSE stream; it returns a function that stops it. */
export function streamFlows(base: string, query: string, onFlow: (f: Flow) => void, onState: (s: 'live' | 'reconnecting' | 'stream closed') => void): () => void {
  const es = new EventSource(`${base}/flows/stream?${query}`);
  es.onopen = () => onState('live');
  // The browser retries a dropped stream by itself, but gives up on an
  // answer that is not a stream (an error status): say which.
  es.onerror = () => onState(es.readyState === EventSource.CLOSED ? 'stream closed' : 'reconnecting');
  es.onmessage = (ev: MessageEvent<string>) => {
    try {
      onFlow(JSON.parse(ev.data) as Flow);
    } catch {
      // a malformed event is skipped; the next interval brings new ones
    }
  };
  return () => es.close();
}
