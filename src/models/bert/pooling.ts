// Masked mean pooling of token embeddings. The research project fed the whole L x 768 token matrix of
// bert-base-uncased (L = 20 tokens, i.e. 15,360 floats = 61 KB per listing as float32) into a 1-D CNN.
// Here we store one vector per listing, the mean of the token vectors over the attention mask (768
// floats = 3 KB, 20x smaller), so Postgres rows stay small and similarity search works on them directly.
// Padding positions are excluded, so the result does not depend on how a batch was padded.

/**
 * @param hidden last_hidden_state data, row-major [batch, seq, dim]
 * @param mask attention_mask data, [batch, seq], 1 for real tokens
 * @returns one Float32Array(dim) per row; a row with no real token gives a zero vector
 */
export function meanPool(
  hidden: Float32Array,
  mask: ArrayLike<number | bigint>,
  batch: number,
  seq: number,
  dim: number,
): Float32Array[] {
  if (hidden.length !== batch * seq * dim || mask.length !== batch * seq) {
    throw new Error(
      `meanPool got ${hidden.length} hidden values and ${mask.length} mask values for batch ${batch} x seq ${seq} x dim ${dim}; the model output does not match its inputs.`,
    );
  }
  const out: Float32Array[] = [];
  for (let b = 0; b < batch; b += 1) {
    // Accumulate in float64 so the mean does not depend on summation order more than necessary.
    const acc = new Float64Array(dim);
    let count = 0;
    for (let t = 0; t < seq; t += 1) {
      if (Number(mask[b * seq + t]) === 0) continue;
      count += 1;
      const base = (b * seq + t) * dim;
      for (let d = 0; d < dim; d += 1) acc[d]! += hidden[base + d]!;
    }
    const row = new Float32Array(dim);
    if (count > 0) for (let d = 0; d < dim; d += 1) row[d] = acc[d]! / count;
    out.push(row);
  }
  return out;
}
