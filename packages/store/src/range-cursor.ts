// A cursor over one ranged read as its pieces arrive (Thanos reads a chunk range through a
// bufio.Reader the same way): gaps between wanted records are dropped piece by piece and
// never gathered, wanted bytes are copied straight to their destination, and the read can
// stop as soon as the last wanted byte is in.

const EMPTY = new Uint8Array(0);

export class RangeCursor {
  private piece: Uint8Array = EMPTY;
  private at = 0;
  private ended = false;
  /** Absolute offset of the next byte not yet consumed. */
  pos: number;
  /** Bytes received from the source so far (gaps included). */
  received = 0;

  constructor(
    private readonly src: AsyncIterator<unknown>,
    start: number,
  ) {
    this.pos = start;
  }

  /** Drops bytes up to absolute offset `to`; false if the source ended first. */
  async skipTo(to: number): Promise<boolean> {
    while (this.pos < to) {
      if (this.at === this.piece.length && !(await this.nextPiece())) return false;
      const n = Math.min(to - this.pos, this.piece.length - this.at);
      this.at += n;
      this.pos += n;
    }
    return true;
  }

  /** Copies the next n bytes into dst at off; returns how many there were (fewer at the end). */
  async read(dst: Uint8Array, off: number, n: number): Promise<number> {
    let done = 0;
    while (done < n) {
      if (this.at === this.piece.length && !(await this.nextPiece())) break;
      const k = Math.min(n - done, this.piece.length - this.at);
      dst.set(this.piece.subarray(this.at, this.at + k), off + done);
      this.at += k;
      this.pos += k;
      done += k;
    }
    return done;
  }

  /** Stops the source (destroying a stream that is not used up). */
  async close(): Promise<void> {
    this.piece = EMPTY;
    this.at = 0;
    if (this.ended) return;
    this.ended = true;
    await this.src.return?.();
  }

  private async nextPiece(): Promise<boolean> {
    if (this.ended) return false;
    for (;;) {
      const r = await this.src.next();
      if (r.done === true) {
        this.ended = true;
        return false;
      }
      const p = r.value;
      if (!(p instanceof Uint8Array)) throw new Error(`range read: unexpected ${typeof p} piece`);
      if (p.length === 0) continue;
      this.piece = p;
      this.at = 0;
      this.received += p.length;
      return true;
    }
  }
}
