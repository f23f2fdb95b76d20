/**
 * Small dense-vector helpers over rows of flat `Float32Array` matrices (row-major, `dim` wide).
 */

/** Dot product of row `i` of `a` and row `j` of `b`, both `dim` wide. */
export function dotRows(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  const oa = i * dim;
  const ob = j * dim;
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[oa + d] * b[ob + d];
  return s;
}

/** Scales row `i` of `m` (`dim` wide) to unit L2 norm in place; an all-zero row stays zero. */
export function normalizeRow(m: Float32Array, i: number, dim: number): void {
  const o = i * dim;
  let s = 0;
  for (let d = 0; d < dim; d++) s += m[o + d] * m[o + d];
  if (s === 0) return;
  const inv = 1 / Math.sqrt(s);
  for (let d = 0; d < dim; d++) m[o + d] *= inv;
}

/** Logistic sigmoid. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
