/**
 * A stand-in for `real` whose methods are real's (bound to it) except those in
 * `overrides`: for injecting faults or spies into one call of a bucket or client.
 * A Proxy rather than Object.create, so classes with private fields keep working.
 */
export function wrapMethods<T extends object>(real: T, overrides: Partial<T>): T {
  return new Proxy(real, {
    get(target, prop) {
      if (prop in overrides) return (overrides as Record<PropertyKey, unknown>)[prop];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
