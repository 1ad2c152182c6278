// Waiting for a response stream to take more, without leaving listeners behind: a long
// streamed answer waits many times, and listeners left on the response by each wait
// (events.once on 'close' when 'drain' won the race) pile up until the response ends.

import type { Writable } from 'node:stream';

/** Resolves when `out` drains or `res` closes, whichever comes first; removes both listeners. */
export function drainedOrClosed(out: Writable, res: Writable): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      out.off('drain', done);
      res.off('close', done);
      resolve();
    };
    out.on('drain', done);
    res.on('close', done);
  });
}
