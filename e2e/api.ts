// A Prometheus HTTP API client for e2e tests: the same call against our query and a real
// Prometheus, returning the status, the parsed body and the raw text for byte comparisons.

export interface ApiBody {
  status: string;
  data?: any;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

export async function api(base: string, path: string, params: Record<string, string | string[]> = {}): Promise<{ status: number; body: ApiBody; text: string }> {
  const u = new URL(base + path);
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) u.searchParams.append(k, x);
  const r = await fetch(u);
  const text = await r.text();
  return { status: r.status, body: JSON.parse(text) as ApiBody, text };
}
