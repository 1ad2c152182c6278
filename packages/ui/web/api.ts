// Calls to the component's HTTP API. Every URL is relative to the page (all pages sit one
// segment under the route prefix), so the app follows --web.route-prefix by itself.

export interface ApiEnvelope<T> {
  status: 'success' | 'error';
  data?: T;
  errorType?: string;
  error?: string;
  warnings?: string[];
  infos?: string[];
}

export interface ApiAnswer<T> {
  data: T;
  warnings: string[];
}

/** An API call that failed: HTTP status (0 when unreachable) and the API's own error. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The absolute URL of the route prefix, e.g. http://host/thanos/. */
export function baseURL(): string {
  return new URL('.', window.location.href).href;
}

export async function apiGet<T>(path: string, params: Record<string, string> = {}, signal?: AbortSignal): Promise<ApiAnswer<T>> {
  const url = new URL(`api/v1/${path}`, baseURL());
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(`GET ${url.pathname}: ${(err as Error).message}`, 0);
  }
  const text = await res.text();
  let body: ApiEnvelope<T> | null = null;
  try {
    body = JSON.parse(text) as ApiEnvelope<T>;
  } catch {
    // Not JSON: a 404 page or a proxy's answer.
  }
  if (!res.ok || !body || body.status !== 'success') {
    const why = body?.error ? `${body.errorType ? body.errorType + ': ' : ''}${body.error}` : `${res.status} ${res.statusText || text.trim().slice(0, 200)}`;
    throw new ApiError(`GET ${url.pathname}: ${why}`, res.status);
  }
  return { data: body.data as T, warnings: body.warnings ?? [] };
}
