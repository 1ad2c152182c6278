/**
 * Runs fn over items with at most `limit` calls in flight, preserving result order.
 * The first error stops new calls and is rethrown once the running ones settle.
 */
/** Does nothing: the handler of a promise whose failure is reported elsewhere, or nowhere on purpose. */
export function noop(): void {}

export async function mapConcurrent<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: { err: unknown } | null = null;
  const worker = async (): Promise<void> => {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failed ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== null) throw (failed as { err: unknown }).err;
  return out;
}
