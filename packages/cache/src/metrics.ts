// Cache metrics live once per registry, with Thanos's `name` label telling the caches
// apart (Thanos wraps each cache's registerer with name=<cache>), so an index cache
// and a caching bucket can share a component's registry.

import type { Registry } from 'prom-client';

const perRegistry = new WeakMap<Registry, Map<string, unknown>>();
const unregistered = new Map<string, unknown>();

/** The metric set `key` of registry, made by make() the first time it is asked for. */
export function metricsOnce<T>(registry: Registry | undefined, key: string, make: (registers: Registry[]) => T): T {
  let m: Map<string, unknown>;
  if (registry === undefined) m = unregistered;
  else {
    const got = perRegistry.get(registry);
    if (got === undefined) perRegistry.set(registry, (m = new Map()));
    else m = got;
  }
  let v = m.get(key) as T | undefined;
  if (v === undefined) {
    v = make(registry ? [registry] : []);
    m.set(key, v);
  }
  return v;
}
