// Go's math functions where V8's differ in the last bits, reimplemented from the
// algorithms Go uses on linux/amd64 so PromQL results match Prometheus bit for bit:
// - Log: the amd64 assembly (FreeBSD's e_log.c polynomial; it does not normalise
//   subnormal inputs, so ln(5e-324) is -709.09 in Go, not -744.44);
// - Sin, Cos, Tan: Cephes polynomials with the 3-part Pi/4 reduction, Payne-Hanek
//   reduction from 2^29 on;
// - Atan, Asin, Acos: Cephes rational approximation.
// Exp (and Sinh/Cosh/Tanh built on it) is left to V8: Go's amd64 Exp switches to FMA
// instructions when the CPU has them, so even Go's results depend on the machine.

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI = LITTLE ? 1 : 0;
const LO = LITTLE ? 0 : 1;

// ---- Log (log_amd64.s) ----

const HSQRT2 = 7.07106781186547524401e-1;
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const L1 = 6.666666666666735130e-1;
const L2 = 3.999999999940941908e-1;
const L3 = 2.857142874366239149e-1;
const L4 = 2.222219843214978396e-1;
const L5 = 1.818357216161805012e-1;
const L6 = 1.531383769920937332e-1;
const L7 = 1.479819860511658591e-1;

/** Go's math.Log on amd64. */
export function goLog(x: number): number {
  if (x === 0) return -Infinity;
  if (x < 0 || x !== x) return NaN;
  if (x === Infinity) return x;
  // Frexp without normalising subnormals: f1 = mantissa with exponent 2^-1, k = exponent.
  F64[0] = x;
  const hi = U32[HI];
  let k = ((hi >>> 20) & 0x7ff) - 0x3fe;
  U32[HI] = (hi & 0x000fffff) | 0x3fe00000;
  let f1 = F64[0];
  if (f1 <= HSQRT2) {
    k -= 1;
    f1 *= 2;
  }
  const f = f1 - 1;
  const s = f / (2 + f);
  const s2 = s * s;
  const s4 = s2 * s2;
  const t1 = s2 * (L1 + s4 * (L3 + s4 * (L5 + s4 * L7)));
  const t2 = s4 * (L2 + s4 * (L4 + s4 * L6));
  const R = t1 + t2;
  const hfsq = 0.5 * f * f;
  return k * LN2_HI - (hfsq - (s * (hfsq + R) + k * LN2_LO) - f);
}

/** Go's math.Log10: Log(x) * (1/Ln10). */
export function goLog10(x: number): number {
  return goLog(x) * Math.LOG10E;
}

/** Go's math.Log2: exact for powers of two (via Frexp), Log(frac)*(1/Ln2) + exp otherwise. */
export function goLog2(x: number): number {
  // Frexp special cases: ±0, ±Inf and NaN come back unchanged with exp 0.
  if (x === 0 || x !== x || x === Infinity || x === -Infinity) return goLog(x) * Math.LOG2E;
  let exp = 0;
  let v = x;
  if (Math.abs(v) < 2.2250738585072014e-308) {
    // Frexp normalises subnormals first.
    v *= 4503599627370496; // 2^52
    exp = -52;
  }
  F64[0] = v;
  const hi = U32[HI];
  exp += ((hi >>> 20) & 0x7ff) - 1022;
  U32[HI] = (hi & ~(0x7ff << 20)) | (1022 << 20);
  const frac = F64[0];
  if (frac === 0.5) return exp - 1;
  return goLog(frac) * Math.LOG2E + exp;
}

// ---- Sin, Cos, Tan (sin.go, tan.go, trig_reduce.go) ----

const PI4A = 7.85398125648498535156e-1;
const PI4B = 3.77489470793079817668e-8;
const PI4C = 2.69515142907905952645e-15;
/** The float64 nearest to 4/π (Go folds the constant expression exactly). */
const FOUR_OVER_PI = 1.2732395447351628;
const REDUCE_THRESHOLD = 2 ** 29;

const SIN = [
  1.58962301576546568060e-10, -2.50507477628578072866e-8, 2.75573136213857245213e-6, -1.98412698295895385996e-4,
  8.33333333332211858878e-3, -1.66666666666666307295e-1,
];
const COS = [
  -1.13585365213876817300e-11, 2.08757008419747316778e-9, -2.75573141792967388112e-7, 2.48015872888517045348e-5,
  -1.38888888888730564116e-3, 4.16666666666665929218e-2,
];

/** Binary digits of 4/π, 64 bits per entry (Go's mPi4). */
const M_PI4 = [
  0x0000000000000001n,
  0x45f306dc9c882a53n,
  0xf84eafa3ea69bb81n,
  0xb6c52b3278872083n,
  0xfca2c757bd778ac3n,
  0x6e48dc74849ba5c0n,
  0x0c925dd413a32439n,
  0xfc3bd63962534e7dn,
  0xd1046bea5d768909n,
  0xd338e04d68befc82n,
  0x7323ac7306a673e9n,
  0x3908bf177bf25076n,
  0x3ff12fffbc0b301fn,
  0xde5e2316b414da3en,
  0xda6cfd9e4f96136en,
  0x9e8c7ecd3cbfd45an,
  0xea4f758fd7cbe2f6n,
  0x7a0e73ef14a525d4n,
  0xd7f6bf623f1aba10n,
  0xac06608df8f6d757n,
];
const MASK64 = (1n << 64n) - 1n;

// Results of the reduction: octant j and the reduced argument z.
let redJ = 0;
let redZ = 0;

/**
 * Payne-Hanek reduction of x >= 2^29 by π/4 (trigReduce), with the same 64-bit integer
 * arithmetic as Go (BigInt here; only huge arguments take this path).
 */
function trigReduce(x: number): void {
  const PI4 = Math.PI / 4;
  if (x < PI4) {
    redJ = 0;
    redZ = x;
    return;
  }
  F64[0] = x;
  const bitsX = (BigInt(U32[HI]) << 32n) | BigInt(U32[LO]);
  const exp = Number((bitsX >> 52n) & 0x7ffn) - 1023 - 52;
  const ix = (bitsX & ((1n << 52n) - 1n)) | (1n << 52n);
  const digit = Math.floor((exp + 61) / 64);
  const bitshift = BigInt((exp + 61) % 64);
  // Go's shifts by 64 yield 0, so a zero bitshift takes the digits as they are.
  const shl = (v: bigint): bigint => (v << bitshift) & MASK64;
  const shr = (v: bigint): bigint => (bitshift === 0n ? 0n : v >> (64n - bitshift));
  const z0 = shl(M_PI4[digit]) | shr(M_PI4[digit + 1]);
  const z1 = shl(M_PI4[digit + 1]) | shr(M_PI4[digit + 2]);
  const z2 = shl(M_PI4[digit + 2]) | shr(M_PI4[digit + 3]);
  const z2hi = (z2 * ix) >> 64n;
  const p1 = z1 * ix;
  const z1hi = p1 >> 64n;
  const z1lo = p1 & MASK64;
  const z0lo = (z0 * ix) & MASK64;
  const loSum = z1lo + z2hi;
  const lo = loSum & MASK64;
  const carry = loSum >> 64n;
  let hi = (z0lo + z1hi + carry) & MASK64;
  let j = Number(hi >> 61n);
  hi = ((hi << 3n) & MASK64) | (lo >> 61n);
  const lz = BigInt(64 - hi.toString(2).length + (hi === 0n ? 1 : 0));
  const e = BigInt(1023) - (lz + 1n);
  // Go's shifts by 64 or more give 0.
  hi = ((hi << (lz + 1n)) & MASK64) | (lz + 1n > 64n ? 0n : lo >> (64n - (lz + 1n)));
  hi >>= 64n - 52n;
  hi |= e << 52n;
  U32[HI] = Number(hi >> 32n);
  U32[LO] = Number(hi & 0xffffffffn);
  let z = F64[0];
  if ((j & 1) === 1) {
    j = (j + 1) & 7;
    z--;
  }
  redJ = j;
  redZ = z * PI4;
}

/** Reduces x >= 0 to an octant (redJ) and an argument in [-π/4, π/4] (redZ). */
function reduce(x: number): void {
  if (x >= REDUCE_THRESHOLD) {
    trigReduce(x);
    return;
  }
  let j = Math.floor(x * FOUR_OVER_PI);
  let y = j;
  if ((j & 1) === 1) {
    j++;
    y++;
  }
  redJ = j & 7;
  redZ = x - y * PI4A - y * PI4B - y * PI4C;
}

function sinPoly(z: number, zz: number): number {
  return z + z * zz * (((((SIN[0] * zz + SIN[1]) * zz + SIN[2]) * zz + SIN[3]) * zz + SIN[4]) * zz + SIN[5]);
}

function cosPoly(zz: number): number {
  return 1.0 - 0.5 * zz + zz * zz * (((((COS[0] * zz + COS[1]) * zz + COS[2]) * zz + COS[3]) * zz + COS[4]) * zz + COS[5]);
}

/** Go's math.Sin. */
export function goSin(x: number): number {
  if (x === 0 || x !== x) return x;
  if (x === Infinity || x === -Infinity) return NaN;
  let sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  reduce(x);
  let j = redJ;
  const z = redZ;
  if (j > 3) {
    sign = !sign;
    j -= 4;
  }
  const zz = z * z;
  const y = j === 1 || j === 2 ? cosPoly(zz) : sinPoly(z, zz);
  return sign ? -y : y;
}

/** Go's math.Cos. */
export function goCos(x: number): number {
  if (x !== x || x === Infinity || x === -Infinity) return NaN;
  let sign = false;
  x = Math.abs(x);
  reduce(x);
  let j = redJ;
  const z = redZ;
  if (j > 3) {
    j -= 4;
    sign = !sign;
  }
  if (j > 1) sign = !sign;
  const zz = z * z;
  const y = j === 1 || j === 2 ? sinPoly(z, zz) : cosPoly(zz);
  return sign ? -y : y;
}

const TAN_P = [-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7];
const TAN_Q = [1.0, 1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7, -5.38695755929454629881e7];

/** Go's math.Tan. */
export function goTan(x: number): number {
  if (x === 0 || x !== x) return x;
  if (x === Infinity || x === -Infinity) return NaN;
  let sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  reduce(x);
  const j = redJ;
  const z = redZ;
  const zz = z * z;
  let y: number;
  if (zz > 1e-14) {
    y = z + z * ((zz * ((TAN_P[0] * zz + TAN_P[1]) * zz + TAN_P[2])) / ((((zz + TAN_Q[1]) * zz + TAN_Q[2]) * zz + TAN_Q[3]) * zz + TAN_Q[4]));
  } else {
    y = z;
  }
  if ((j & 2) === 2) y = -1 / y;
  return sign ? -y : y;
}

// ---- Atan, Asin, Acos (atan.go, asin.go) ----

const P0 = -8.750608600031904122785e-1;
const P1 = -1.615753718733365076637e1;
const P2 = -7.500855792314704667340e1;
const P3 = -1.228866684490136173410e2;
const P4 = -6.485021904942025371773e1;
const Q0 = +2.485846490142306297962e1;
const Q1 = +1.650270098316988542046e2;
const Q2 = +4.328810604912902668951e2;
const Q3 = +4.853903996359136964868e2;
const Q4 = +1.945506571482613964425e2;
const MOREBITS = 6.123233995736765886130e-17;
const TAN3PIO8 = 2.41421356237309504880;

function xatan(x: number): number {
  let z = x * x;
  z = (z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4)) / (((((z + Q0) * z + Q1) * z + Q2) * z + Q3) * z + Q4);
  return x * z + x;
}

function satan(x: number): number {
  if (x <= 0.66) return xatan(x);
  if (x > TAN3PIO8) return Math.PI / 2 - xatan(1 / x) + MOREBITS;
  return Math.PI / 4 + xatan((x - 1) / (x + 1)) + 0.5 * MOREBITS;
}

/** Go's math.Atan. */
export function goAtan(x: number): number {
  if (x === 0) return x;
  if (x > 0) return satan(x);
  return -satan(-x);
}

/** Go's math.Asin. */
export function goAsin(x: number): number {
  if (x === 0) return x;
  let sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  if (x > 1) return NaN;
  let temp = Math.sqrt(1 - x * x);
  if (x > 0.7) temp = Math.PI / 2 - satan(temp / x);
  else temp = satan(x / temp);
  return sign ? -temp : temp;
}

/** Go's math.Acos. */
export function goAcos(x: number): number {
  return Math.PI / 2 - goAsin(x);
}

// ---- Asinh, Acosh (asinh.go, acosh.go: fdlibm, on top of Go's Log) ----

const LN2 = 6.93147180559945286227e-1;
const NEAR_ZERO = 1 / 2 ** 28;
const LARGE = 2 ** 28;

/** Go's math.Asinh. Log1p is fdlibm's in both Go and V8. */
export function goAsinh(x: number): number {
  if (x !== x || x === Infinity || x === -Infinity) return x;
  let sign = false;
  if (x < 0) {
    x = -x;
    sign = true;
  }
  let temp: number;
  if (x > LARGE) temp = goLog(x) + LN2;
  else if (x > 2) temp = goLog(2 * x + 1 / (Math.sqrt(x * x + 1) + x));
  else if (x < NEAR_ZERO) temp = x;
  else temp = Math.log1p(x + (x * x) / (1 + Math.sqrt(1 + x * x)));
  return sign ? -temp : temp;
}

/** Go's math.Acosh. */
export function goAcosh(x: number): number {
  if (x < 1 || x !== x) return NaN;
  if (x === 1) return 0;
  if (x >= LARGE) return goLog(x) + LN2;
  if (x > 2) return goLog(2 * x - 1 / (x + Math.sqrt(x * x - 1)));
  const t = x - 1;
  return Math.log1p(t + Math.sqrt(2 * t + t * t));
}
