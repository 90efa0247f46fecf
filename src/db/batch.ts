// Small pure helpers shared by the repositories' batched statements.

/** Rows per statement for scalar tables: one round trip per chunk, statements stay a few MB at most. */
export const ROWS_PER_STATEMENT = 1000;
/** Rows per statement for tables holding vectors (a 2,048-wide vector is ~25 kB as text). */
export const VECTORS_PER_STATEMENT = 250;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new Error(`Chunk size must be a positive integer, got ${size}.`);
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * ON CONFLICT DO UPDATE cannot touch one row twice in a statement; fail with the offending key
 * instead of Postgres' "command cannot affect row a second time".
 */
export function assertUniqueKeys(keys: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key)) throw new Error(`${what} ${JSON.stringify(key)} appears twice in one batch; remove the duplicate before saving.`);
    seen.add(key);
  }
}

/** Fills in zero for every status with no rows, so callers can print a stable table. */
export function countsByKey<K extends string>(keys: readonly K[], rows: readonly { key: string; count: number }[]): Record<K, number> {
  const out = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  for (const row of rows) {
    if ((keys as readonly string[]).includes(row.key)) out[row.key as K] = row.count;
  }
  return out;
}

/**
 * Placeholders for a multi-row VALUES list, e.g. rows=2, casts=['text','real[]'], first=2 gives
 * "($2::text, $3::real[]), ($4::text, $5::real[])". Used where each row carries a binary parameter
 * (vectors), which unnest() over arrays cannot take.
 */
export function valuesPlaceholders(rows: number, casts: readonly string[], first = 1): string {
  const out: string[] = [];
  let n = first;
  for (let r = 0; r < rows; r += 1) out.push(`(${casts.map((c) => `$${n++}::${c}`).join(', ')})`);
  return out.join(', ');
}
