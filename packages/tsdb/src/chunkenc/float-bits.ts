// Access to the IEEE-754 bits of float64 values without BigInt: one shared
// Float64Array aliased by a Uint32Array, indexed by the platform's word order.
//
// NaN payloads survive typed arrays, object fields and function calls in V8, but a
// store into a plain JS array of doubles may quieten a signalling NaN such as the
// stale marker (0x7ff0000000000002 -> 0x7ff8000000000002). Keep sample values in
// Float64Array or plain variables, and test for staleness with isStaleNaN, never
// with Number.isNaN alone.

/** Scratch float; write a value here and read its halves from U32[HI] / U32[LO]. */
export const F64 = new Float64Array(1);
export const U32 = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Index into U32 of the high (sign, exponent, top mantissa) word. */
export const HI = LITTLE_ENDIAN ? 1 : 0;
/** Index into U32 of the low word. */
export const LO = LITTLE_ENDIAN ? 0 : 1;

/** The float64 whose bits are hi:lo. */
export function floatFromBits(hi: number, lo: number): number {
  U32[HI] = hi;
  U32[LO] = lo;
  return F64[0];
}

/** High 32 bits of v's IEEE-754 representation. */
export function floatHiBits(v: number): number {
  F64[0] = v;
  return U32[HI];
}

/** Low 32 bits of v's IEEE-754 representation. */
export function floatLoBits(v: number): number {
  F64[0] = v;
  return U32[LO];
}

/**
 * Prometheus' staleness marker (model/value.StaleNaN, bits 0x7ff0000000000002).
 * It is a NaN, so compare with isStaleNaN, not ===.
 */
export const STALE_NAN: number = floatFromBits(0x7ff00000, 0x00000002);

/** The NaN Prometheus uses for ordinary NaN values (model/value.NormalNaN, bits 0x7ff8000000000001). */
export const NORMAL_NAN: number = floatFromBits(0x7ff80000, 0x00000001);

/** Reports whether v carries exactly the stale-marker bits. */
export function isStaleNaN(v: number): boolean {
  F64[0] = v;
  return U32[LO] === 0x00000002 && U32[HI] === 0x7ff00000;
}
