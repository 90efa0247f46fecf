// The one inner-product loop of the vector search: exact scans and HNSW building spend nearly all their
// time here. Four independent accumulators let the JIT keep multiply-adds in flight; exact and
// approximate search both call this, so a re-scored candidate gets the very score an exact scan gives it.

/** Dot product of matrix[base .. base + dim) with q[0 .. dim). */
export function dotAt(matrix: Float32Array, base: number, q: Float32Array, dim: number): number {
  let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
  let i = 0;
  for (; i + 3 < dim; i += 4) {
    d0 += matrix[base + i]! * q[i]!;
    d1 += matrix[base + i + 1]! * q[i + 1]!;
    d2 += matrix[base + i + 2]! * q[i + 2]!;
    d3 += matrix[base + i + 3]! * q[i + 3]!;
  }
  for (; i < dim; i++) d0 += matrix[base + i]! * q[i]!;
  return d0 + d1 + d2 + d3;
}
