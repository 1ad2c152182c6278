// A counting gate (Thanos pkg/gate): at most `n` holders at once, the others wait in
// line. Bounds queries evaluated at once (--query.max-concurrent) and selects streaming
// at once per querier (--query.max-concurrent-select).

type Waiter = { resolve: () => void; reject: (err: unknown) => void; signal?: AbortSignal };

export class Gate {
  private active = 0;
  private readonly waiting: Waiter[] = [];
  // One abort listener per signal, not per waiter: a query's many selects wait on one
  // signal, and a listener each would pile up on it (and trip Node's leak warning).
  private readonly bySignal = new Map<AbortSignal, { waiters: Set<Waiter>; onAbort: () => void }>();

  constructor(private readonly n: number) {
    if (!(n > 0)) throw new Error(`gate: capacity must be positive, got ${n}`);
  }

  /** Holders now. */
  get inFlight(): number {
    return this.active;
  }

  /** Waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a turn if one is free now (no waiting, nothing allocated). */
  tryAcquire(): boolean {
    if (this.active >= this.n) return false;
    this.active++;
    return true;
  }

  /** Waits for a turn; rejects with the signal's reason if it aborts first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.n) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal };
      if (signal) this.watch(signal, w);
      this.waiting.push(w);
    });
  }

  /** Gives the turn to the next in line, or frees a place. */
  release(): void {
    const next = this.waiting.shift();
    if (next) {
      if (next.signal) this.unwatch(next.signal, next);
      next.resolve(); // the place passes on: active stays the same
      return;
    }
    this.active--;
  }

  private watch(signal: AbortSignal, w: Waiter): void {
    let entry = this.bySignal.get(signal);
    if (!entry) {
      const waiters = new Set<Waiter>();
      const onAbort = (): void => {
        this.bySignal.delete(signal);
        for (const x of waiters) {
          const i = this.waiting.indexOf(x);
          if (i >= 0) this.waiting.splice(i, 1);
          x.reject(signal.reason);
        }
      };
      entry = { waiters, onAbort };
      this.bySignal.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(w);
  }

  private unwatch(signal: AbortSignal, w: Waiter): void {
    const entry = this.bySignal.get(signal);
    if (!entry) return;
    entry.waiters.delete(w);
    if (entry.waiters.size === 0) {
      signal.removeEventListener('abort', entry.onAbort);
      this.bySignal.delete(signal);
    }
  }
}
