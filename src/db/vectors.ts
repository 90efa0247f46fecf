// Conversion between JS vectors and Postgres real[]. Pure: no pg import.
// Vectors travel in Postgres' binary array format both ways: pg sends Buffer parameters in binary
// (so a `$n::real[]` parameter is read by array_recv), and reads select array_send(vector). Neither
// side formats or parses decimal floats, which made writes ~4x and reads ~3x faster than text for
// 768- and 2,048-wide embeddings.

/** A vector as the models produce it. */
export type Vector = Float32Array | readonly number[];

const FLOAT4_OID = 700;
const HEADER_BYTES = 20; // ndim, has-nulls flag, element type oid, then size and lower bound of the one dimension

/** Encodes a vector for a `$n::real[]` parameter, rejecting values a model should never emit. */
export function toArrayRecv(vector: Vector, what: string): Buffer {
  if (vector.length === 0) throw new Error(`${what} is an empty vector; the model produced no output, so fix the encoder before storing it.`);
  const buf = Buffer.allocUnsafe(HEADER_BYTES + vector.length * 8);
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(0, 4);
  buf.writeInt32BE(FLOAT4_OID, 8);
  buf.writeInt32BE(vector.length, 12);
  buf.writeInt32BE(1, 16);
  for (let i = 0, at = HEADER_BYTES; i < vector.length; i += 1, at += 8) {
    const v = vector[i] as number;
    if (!Number.isFinite(v)) {
      throw new Error(`${what} has a non-finite value (${v}) at index ${i}; the model output is broken, so fix the encoder before storing it.`);
    }
    buf.writeInt32BE(4, at); // element length
    buf.writeFloatBE(v, at + 4);
  }
  return buf;
}

/** Decodes array_send(real[]) into a Float32Array. */
export function fromArraySend(buf: Buffer): Float32Array {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ndim = view.getInt32(0);
  if (ndim === 0) return new Float32Array(0);
  if (ndim !== 1 || view.getInt32(8) !== FLOAT4_OID) {
    throw new Error(`Expected array_send() of a one-dimensional real[] but got ${ndim} dimension(s) of type oid ${view.getInt32(8)}.`);
  }
  const n = view.getInt32(12);
  const out = new Float32Array(n);
  for (let i = 0, at = HEADER_BYTES; i < n; i += 1, at += 8) {
    if (view.getInt32(at) !== 4) throw new Error(`The real[] value has a NULL at index ${i}; vectors may not contain NULLs.`);
    out[i] = view.getFloat32(at + 4);
  }
  return out;
}

/**
 * Parses the text form of a one-dimensional real[] ("{1,2.5,-3e-05}") into a Float32Array. The pool
 * uses it for any real[] column selected without array_send, so all vectors reach JS as Float32Array.
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
