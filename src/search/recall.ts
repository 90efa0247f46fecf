// Recall of approximate answers against exact ones: the share of the exact top-k ids that the
// approximate answer also returned. Tests and bench:api:ann measure the HNSW path with it.
import type { Neighbour } from './exact-index.js';

/** Found / wanted over all queries; answers are per query, in the same order on both sides. */
export function recallAgainst(approximate: readonly Neighbour[][], exact: readonly Neighbour[][]): number {
  let found = 0;
  let total = 0;
  approximate.forEach((hits, i) => {
    const truth = new Set(exact[i]!.map((h) => h.id));
    found += hits.filter((h) => truth.has(h.id)).length;
    total += truth.size;
  });
  return total === 0 ? 1 : found / total;
}
