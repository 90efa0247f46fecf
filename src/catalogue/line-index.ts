// A byte-level pass in front of csv-parse that (1) removes the stray carriage returns that would make
// the parser reject a record although the text is fine, and (2) remembers where each "\n" is, so every
// record gets the physical line number it starts on. csv-parse's own `info.lines` cannot be used: it
// counts every "\r" as a line end (and "\r\n" as two), and the catalogue is full of bare "\r".
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;
/** Marks "start of input" as the byte before a run of carriage returns. */
const START = -1;

/**
 * Drops a run of bare "\r" only where it sits at a field boundary next to a quote: after a closing
 * quote ('"\r,' or '"\r\n') or before an opening quote (',\r"' or a line starting '\r"'). There csv-parse
 * would report "Invalid Closing/Opening Quote". Every other "\r" passes through untouched and is turned
 * into a line break (or trimmed) field by field after parsing. Inside a quoted field the same byte
 * pattern can only come from a doubled quote next to a stray "\r"; dropping it loses at most that
 * stray line break.
 * No "\n" is ever removed, so physical line numbers are those of the original file.
 */
export class CsvLineIndex extends Transform {
  /** Offsets (in the output stream) of "\n" bytes not yet passed by lineAt(). */
  private newlines: number[] = [];
  /** Index into `newlines` of the first newline at or after the last queried offset. */
  private cursor = 0;
  /** Newlines already dropped from the front of `newlines` (memory stays bounded on big files). */
  private dropped = 0;
  private lastQuery = 0;
  private outputBytes = 0;
  /** The last non-"\r" byte written, and how many "\r" bytes are held back after it. */
  private before = START;
  private pendingCr = 0;
  /** Physical lines still to drop from the front of the input (a read that resumes mid-file). */
  private linesToSkip: number;

  /** @param skipLines physical lines to drop before the first byte passed on; line numbers still count them. */
  constructor(private readonly skipLines = 0) {
    super();
    this.linesToSkip = skipLines;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const out = Buffer.allocUnsafe(chunk.length + this.pendingCr);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.linesToSkip > 0) {
        if (byte === LF) this.linesToSkip--;
        continue;
      }
      if (byte === CR) {
        this.pendingCr++;
        continue;
      }
      if (this.pendingCr > 0) {
        if (!this.dropsCarriageReturns(byte)) {
          out.fill(CR, n, n + this.pendingCr);
          n += this.pendingCr;
        }
        this.pendingCr = 0;
      }
      if (byte === LF) this.newlines.push(this.outputBytes + n);
      out[n++] = byte;
      this.before = byte;
    }
    this.outputBytes += n;
    callback(null, out.subarray(0, n));
  }

  override _flush(callback: TransformCallback): void {
    // Trailing "\r" at the end of the file: dropping them after a closing quote is what the parser needs.
    const keep = this.before === QUOTE ? 0 : this.pendingCr;
    this.pendingCr = 0;
    this.outputBytes += keep;
    callback(null, keep > 0 ? Buffer.alloc(keep, CR) : undefined);
  }

  private dropsCarriageReturns(next: number): boolean {
    const afterClosingQuote = this.before === QUOTE && (next === COMMA || next === LF);
    const beforeOpeningQuote = next === QUOTE && (this.before === COMMA || this.before === LF || this.before === START);
    return afterClosingQuote || beforeOpeningQuote;
  }

  /** Bytes written so far (the offset one past the end once the stream has finished). */
  get bytesOut(): number {
    return this.outputBytes;
  }

  /**
   * The 1-based line holding the byte at `offset` of the output. Offsets must not decrease between
   * calls (records are read in order), which keeps each call cheap.
   */
  lineAt(offset: number): number {
    if (offset < this.lastQuery) {
      throw new RangeError(`Line lookups must move forward (asked for byte ${offset} after ${this.lastQuery}); this is a bug in the CSV reader.`);
    }
    this.lastQuery = offset;
    while (this.cursor < this.newlines.length && (this.newlines[this.cursor] as number) < offset) this.cursor++;
    if (this.cursor > 65_536) {
      this.newlines = this.newlines.slice(this.cursor);
      this.dropped += this.cursor;
      this.cursor = 0;
    }
    return this.skipLines + this.dropped + this.cursor + 1;
  }
}
