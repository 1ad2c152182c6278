// Per-node evaluation state reused across the steps of a range evaluation
// (Prometheus's EvalNodeHelper): the output vector, a pool of Sample objects, and the
// caches of vector matching. Nothing here is allocated per step once warmed up.

import type { Labels } from '@thanos-ts/tsdb';
import type { Sample, Vector } from '../value.js';
import { labelsKey } from './label-sets.js';

// Label-set keys memoised per label-set object: the metric of a series is the same
// array at every step, so its key is computed once per query, not once per sample.
const KEYS = new WeakMap<Labels, string>();

/** The exact-identity key of a label set (Labels.Hash), memoised per array. */
export function keyOf(ls: Labels): string {
  let k = KEYS.get(ls);
  if (k === undefined) {
    k = labelsKey(ls);
    KEYS.set(ls, k);
  }
  return k;
}

export class EvalNodeHelper {
  /** The evaluation timestamp of the current step (ms). */
  ts = 0;
  /** The output vector of the step; reset (length 0) before each call. */
  out: Vector = [];
  private pool: Sample[] = [];
  private poolUsed = 0;

  /** Number of distinct matching signatures (vector matching). */
  numSigs = 0;
  // Vector matching buffers, sized numSigs.
  rightSigs: (Sample | null)[] = [];
  sigsPresent: Uint8Array = new Uint8Array(0);
  matchedSigsPresent: Uint8Array = new Uint8Array(0);
  matchedSigs: (Set<string> | null)[] = [];
  /** resultMetric cache: lhs labels → rhs labels → result labels. */
  resultMetric = new Map<Labels, Map<Labels, Labels>>();

  constructor(
    readonly enableDelayedNameRemoval: boolean,
    /**
     * Counts one unit of work and now and then checks for timeout and cancellation (it
     * throws then): step functions call it per sample, so that no step of a large vector
     * runs unchecked.
     */
    readonly tick: () => void = () => {},
  ) {}

  /** Starts a step: the output vector and the sample pool are recycled. */
  reset(ts: number): void {
    this.ts = ts;
    this.out.length = 0;
    this.poolUsed = 0;
  }

  /** A sample valid until the next reset(). */
  sample(metric: Labels, f: number, dropName: boolean): Sample {
    let s: Sample;
    if (this.poolUsed < this.pool.length) {
      s = this.pool[this.poolUsed];
      s.metric = metric;
      s.f = f;
      s.h = null;
      s.dropName = dropName;
      s.t = this.ts;
    } else {
      s = { metric, t: this.ts, f, h: null, dropName };
      this.pool.push(s);
    }
    this.poolUsed++;
    return s;
  }

  resetSigsPresent(): Uint8Array {
    if (this.sigsPresent.length !== this.numSigs) this.sigsPresent = new Uint8Array(this.numSigs);
    else this.sigsPresent.fill(0);
    return this.sigsPresent;
  }

  resetMatchedSigsPresent(): Uint8Array {
    if (this.matchedSigsPresent.length !== this.numSigs) this.matchedSigsPresent = new Uint8Array(this.numSigs);
    else this.matchedSigsPresent.fill(0);
    return this.matchedSigsPresent;
  }

  resetRightSigs(): (Sample | null)[] {
    if (this.rightSigs.length !== this.numSigs) this.rightSigs = new Array<Sample | null>(this.numSigs).fill(null);
    else this.rightSigs.fill(null);
    return this.rightSigs;
  }

  resetMatchedSigs(): (Set<string> | null)[] {
    if (this.matchedSigs.length !== this.numSigs) this.matchedSigs = new Array<Set<string> | null>(this.numSigs).fill(null);
    else for (const s of this.matchedSigs) s?.clear();
    return this.matchedSigs;
  }
}
