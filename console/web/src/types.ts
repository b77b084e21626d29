// The flows API's JSON (docs/console.md, the daemon's /api/v1/).

export interface Endpoint {
  kind: 'wep' | 'hep' | 'netset' | 'host' | 'net' | string;
  name: string;
  namespace?: string;
  network?: string;
  node?: string;
  ip?: string;
  labels?: Record<string, string>;
}

export interface PolicyRef {
  tier: string;
  kind: 'GlobalNetworkPolicy' | 'NetworkPolicy' | 'Profile' | '' | string;
  namespace?: string;
  name: string;
  rule: number;
  direction: 'ingress' | 'egress' | string;
  trigger: 'rule' | 'end-of-tier' | 'default-deny' | string;
}

export interface StagedVerdict extends PolicyRef {
  action: 'allow' | 'deny' | 'pass' | string;
}

export interface Flow {
  start: string;
  end: string;
  node: string;
  reporter: 'src' | 'dst' | string;
  src: Endpoint;
  dst: Endpoint;
  proto: string;
  dstPort: number;
  action: 'allow' | 'deny' | string;
  policy: PolicyRef;
  staged?: StagedVerdict[];
  packets: number;
  bytes: number;
  flows: number;
}

export interface FlowList {
  flows: Flow[];
  dropped: number;
  node: string;
}

export interface EndpointList {
  endpoints: Endpoint[];
}
