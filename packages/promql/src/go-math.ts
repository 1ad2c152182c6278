// Go's math functions where JavaScript's differ in special cases.

/**
 * Go's math.Pow. Unlike `**`, Pow(1, y) is 1 for every y (NaN and ±Inf included) and
 * Pow(-1, ±Inf) is 1.
 */
export function goPow(x: number, y: number): number {
  if (x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}
