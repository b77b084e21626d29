// The link from a flow to the policy that decided it.

import type { PolicyRef } from './types';

/**
 * policyQuery returns the query of /api/v1/policy for the deciding policy,
 * or null when no stored resource decided (the default deny of an endpoint
 * with no policy, or a flow without attribution).
 */
export function policyQuery(p: Pick<PolicyRef, 'kind' | 'name' | 'namespace'> | undefined): string | null {
  if (!p || !p.name || !p.kind) return null;
  const q = new URLSearchParams();
  q.set('kind', p.kind);
  const namespaced = p.kind === 'NetworkPolicy' || p.kind === 'StagedNetworkPolicy';
  q.set('namespace', namespaced ? (p.namespace ?? '') : '');
  q.set('name', p.name);
  return q.toString();
}

// Why traffic was dropped before any policy (trigger pre-policy).
const prePolicyReasons: Record<string, string> = {
  'anti-spoofing': 'the workload sent from an address or MAC that is not its own (anti-spoofing)',
  'endpoint-pending': "the endpoint's labels are not known yet, so its traffic is dropped until they are",
};

/** describeDecision says in words which rule decided. */
export function describeDecision(p: PolicyRef | undefined, action: string): string {
  if (!p || (!p.name && p.trigger === 'default-deny')) {
    return `${action}: no policy or profile applied to the endpoint, so the default deny decided`;
  }
  const where = p.direction ? ` (${p.direction})` : '';
  switch (p.trigger) {
    case 'end-of-tier':
      return `${action}: no rule matched in tier ${p.tier}; the end of tier ${p.tier}${where} after ${p.kind} ${p.name} decided`;
    case 'default-deny':
      return `${action}: ${p.kind} ${p.name} selected the endpoint but none of its rules matched${where}`;
    case 'pre-policy':
      return `${action}: dropped before policy${where}: ${prePolicyReasons[p.name] ?? p.name}`;
    default:
      return `${action}: rule ${p.rule}${where} of ${p.kind} ${p.tier && p.kind !== 'Profile' ? p.tier + '/' : ''}${p.name}`;
  }
}
