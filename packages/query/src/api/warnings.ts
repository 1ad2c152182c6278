// Prometheus's cap on the annotations of one response.

/** Prometheus caps the annotations of one response at this many warnings and infos each. */
export const MAX_ANNOTATIONS = 10;

/** Distinct warnings, at most ten, then "N more warning annotations omitted". */
export function capWarnings(ws: readonly string[]): string[] {
  const seen = new Set<string>();
  const uniq = ws.filter((w) => (seen.has(w) ? false : (seen.add(w), true)));
  if (uniq.length <= MAX_ANNOTATIONS) return uniq;
  const out = uniq.slice(0, MAX_ANNOTATIONS);
  out.push(`${uniq.length - MAX_ANNOTATIONS} more warning annotations omitted`);
  return out;
}
