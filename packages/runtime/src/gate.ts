// A counting gate (Thanos pkg/gate): at most `n` holders at once, the others wait in
// line. Bounds queries evaluated at once (--query.max-concurrent) and selects streaming
// at once per querier (--query.max-concurrent-select).

export class Gate {
  private active = 0;
  private readonly waiting: { resolve: () => void; reject: (err: unknown) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

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

  /** Waits for a turn; rejects with the signal's reason if it aborts first. */
  async acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.active < this.n) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const w: (typeof this.waiting)[number] = { resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiting.push(w);
    });
  }

  /** Gives the turn to the next in line, or frees a place. */
  release(): void {
    const next = this.waiting.shift();
    if (next) {
      if (next.onAbort) next.signal!.removeEventListener('abort', next.onAbort);
      next.resolve(); // the place passes on: active stays the same
      return;
    }
    this.active--;
  }
}
