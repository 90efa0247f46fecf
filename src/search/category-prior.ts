// The category prior of the similar-listing ranking: score = cosine + weight x P(query in the row's
// category). One function so that the API's index and the bench that chooses the weight
// (bench/api-similar-weight.ts) cannot rank differently.

/** Bonus per class name: weight x the query's probability of that class (class-code order); {} at weight 0. */
export function categoryPrior(classes: readonly string[], probabilities: ArrayLike<number>, weight: number): Record<string, number> {
  const out: Record<string, number> = {};
  if (weight === 0) return out;
  classes.forEach((name, i) => (out[name] = weight * (probabilities[i] ?? 0)));
  return out;
}
