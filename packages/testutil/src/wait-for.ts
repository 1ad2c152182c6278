/** What a successful waitFor returns: the predicate's value minus its falsy cases. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** Names the condition in the timeout message. */
  what?: string;
  /** Stops waiting at once, failing with the signal's reason (e.g. the process died). */
  signal?: AbortSignal;
}

/**
 * Polls `fn` until it returns a truthy value, which it then returns. A throw or a falsy
 * result counts as "not yet"; on timeout the error names `what` and the last failure:
 * `timed out after 30000 ms waiting for prometheus ready: fetch failed`.
 */
export async function waitFor<T>(fn: () => Promise<T> | T, opts: WaitForOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last = 'condition not met';
  for (;;) {
    if (opts.signal?.aborted) throw new Error(`gave up waiting for ${opts.what ?? 'condition'}: ${errorMessage(opts.signal.reason)}`);
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
      last = `got ${String(v)}`;
    } catch (e) {
      last = errorMessage(e);
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}: ${last}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())), opts.signal);
  }
}

/** An error's message with its cause chain (fetch hides ECONNREFUSED in `cause`). */
export function errorMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause === undefined ? e.message : `${e.message} (${errorMessage(cause)})`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
