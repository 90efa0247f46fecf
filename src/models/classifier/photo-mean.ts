// How a listing's photos enter the classifier: the mean of their image embeddings (DESIGN.md's model
// contract). Training, the infer pool, evaluation and the benches all call this one function, so the
// classifier is never trained on one aggregate and served another.

/** Element-wise mean of the photo embeddings, or null for a listing without any. */
export function meanPhotoEmbedding(vectors: readonly Float32Array[]): Float32Array | null {
  const first = vectors[0];
  if (!first) return null;
  const out = new Float32Array(first.length);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i]! += v[i]! / vectors.length;
  return out;
}
