// Endpoint groups (--endpoint-group, --endpoint-group-strict): several replicas of one
// component behind one DNS name, queried as one endpoint whose calls go round-robin to
// the addresses the name resolves to, instead of fanned out to all of them. Thanos dials
// `thanos:///<address>` with its own gRPC resolver and the round_robin policy, and lists
// the group under that name in /api/v1/stores. We keep that name and dial the name with
// grpc-js's own `dns:` resolver and round_robin: A/AAAA only (plain or `dns+` addresses),
// re-resolved by grpc-js when a connection drops rather than every --store.sd-dns-interval.

import type { StoreClientOptions } from '@thanos-ts/storeapi';
import { getQTypeName, QType, splitHostPort } from '@thanos-ts/runtime';

/** The scheme Thanos names endpoint groups with. */
export const GROUP_SCHEME = 'thanos:///';

/** The endpoint name of a group address: thanos:///<address>. */
export function groupEndpointName(address: string): string {
  return GROUP_SCHEME + address;
}

export function isGroupEndpoint(name: string): boolean {
  return name.startsWith(GROUP_SCHEME);
}

/** Throws Error unless the address can be a group here: HOST:PORT or dns+HOST:PORT. */
export function validateGroupAddress(address: string): void {
  const { qtype, name } = getQTypeName(address);
  if (qtype !== '' && qtype !== QType.A) {
    throw new Error(`${address}: endpoint groups support HOST:PORT and dns+HOST:PORT addresses only (${qtype}+ is not supported for groups here)`);
  }
  if (splitHostPort(name)?.port === undefined) throw new Error(`${address}: missing port`);
}

/** The gRPC target to dial for an endpoint name: groups go to grpc-js's dns resolver. */
export function grpcTarget(name: string): string {
  if (!isGroupEndpoint(name)) return name;
  return 'dns:///' + getQTypeName(name.slice(GROUP_SCHEME.length)).name;
}

/** Client options for an endpoint name: round_robin and keepalive for groups (Thanos EndpointGroupGRPCOpts). */
export function storeClientOptionsFor(name: string, base: StoreClientOptions = {}): StoreClientOptions {
  if (!isGroupEndpoint(name)) return base;
  return {
    ...base,
    channelOptions: {
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      // The service config is ours, not the one TXT records might announce.
      'grpc.service_config_disable_resolution': 1,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      ...base.channelOptions,
    },
  };
}
