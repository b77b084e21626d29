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
    default:
      return `${action}: rule ${p.rule}${where} of ${p.kind} ${p.tier && p.kind !== 'Profile' ? p.tier + '/' : ''}${p.name}`;
  }
}
