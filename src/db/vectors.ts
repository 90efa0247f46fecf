// Conversion between JS vectors and Postgres real[] text literals. Pure: no pg import.
// Vectors travel as array literals because unnest() of a 2-D array flattens it to scalars, and pg
// would send a Float32Array as bytea.

/** A vector as the models produce it. */
export type Vector = Float32Array | readonly number[];

/** Formats a vector as a Postgres array literal, rejecting values a model should never emit. */
export function toPgArrayLiteral(vector: Vector, what: string): string {
  if (vector.length === 0) throw new Error(`${what} is an empty vector; the model produced no output, so fix the encoder before storing it.`);
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i += 1) {
    const v = vector[i] as number;
    if (!Number.isFinite(v)) {
      throw new Error(`${what} has a non-finite value (${v}) at index ${i}; the model output is broken, so fix the encoder before storing it.`);
    }
    parts[i] = String(v);
  }
  return `{${parts.join(',')}}`;
}

/**
 * Parses Postgres' text form of a one-dimensional real[] ("{1,2.5,-3e-05}") straight into a
 * Float32Array; much faster than the generic array parser for the thousands of 768-wide vectors a
 * training set loads.
 */
export function parseFloat4Array(text: string): Float32Array {
  if (text.length < 2 || text[0] !== '{' || text[text.length - 1] !== '}') {
    throw new Error(`Expected a Postgres real[] literal but got ${JSON.stringify(text.slice(0, 40))}.`);
  }
  if (text.length === 2) return new Float32Array(0);
  const parts = text.slice(1, -1).split(',');
  const out = new Float32Array(parts.length);
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i] as string;
    // Postgres prints nested arrays with braces and NULL elements as NULL; neither is a vector.
    if (part === 'NULL' || part.startsWith('{')) {
      throw new Error(`The real[] value ${JSON.stringify(text.slice(0, 40))}... is not a flat vector without NULLs.`);
    }
    out[i] = Number(part);
  }
  return out;
}
