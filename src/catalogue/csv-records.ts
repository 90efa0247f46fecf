// Streams the records of one catalogue CSV file through csv-parse, configured for the research export:
// only "\n" ends a record (fields hold stray bare "\r"), every record carries the physical line it
// starts on, and a record csv-parse cannot read becomes an `unparsable` item instead of ending the run.
import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { CsvLineIndex } from './line-index.js';

export type CsvItem =
  /** `fields` in canonical order: the index column ('' when the file has none), then `header`. */
  | { kind: 'record'; line: number; fields: string[] }
  /** A record whose field count differs from the header's; `fields` as far as they could be placed. */
  | { kind: 'wrong-width'; line: number; fields: string[]; got: number; want: number }
  | { kind: 'blank'; line: number }
  | { kind: 'unparsable'; line: number; endLine: number; reason: string };

export interface ReadCsvOptions {
  /**
   * Columns the file must name, e.g. ['id', 'product_name', ...], in any order; the unnamed column is
   * the index column (optional), and other named columns are ignored.
   */
  header: readonly string[];
  /** A record longer than this is taken as a missing closing quote and stops the read. */
  maxRecordChars?: number;
}

export class CatalogueFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CatalogueFileError';
  }
}

interface ParsedRecord {
  record: string[];
  raw: string;
  info: { bytes: number };
}

/**
 * "\r\n" and bare "\r" inside a field were line breaks in the listing text; edge whitespace is noise.
 * NUL characters are dropped: they carry no text, and Postgres refuses them in a text column, which
 * would fail the whole statement (and so the run) that stores the row's chunk.
 */
export function normaliseField(field: string): string {
  return field.replace(/\r\n?/g, '\n').replaceAll('\u0000', '').trim();
}

/** csv-parse counts "\r" as a line end, so the line numbers in its messages would mislead. */
function describeCsvError(err: CsvError): string {
  return err.message.replace(/\s+(?:at|on) line \d+/g, '').replace(/[.:]?$/, '.');
}

/** Reads that resume after an unclosed quote; past this the file's quoting is broken throughout. */
const MAX_RESUMES = 1000;

/**
 * Yields the records after the header in file order. The header is checked first; a file whose header
 * does not match is not the file we expect, and that is an error for the whole read.
 *
 * A quote that never closes makes csv-parse read the rest of the file (or up to `maxRecordChars`) as
 * one field. Such a record costs only its first line: it is reported as unparsable and reading resumes
 * at the next physical line, in a fresh parser, so the records after it are not lost.
 */
export async function* readCsvRecords(path: string, options: ReadCsvOptions): AsyncGenerator<CsvItem> {
  // One open file for every pass: a backfill reads its catalogue for as long as the pools take, and a
  // file replaced meanwhile (a new nightly export renamed into place) must not be switched to part-way.
  const file = await openForReading(path);
  try {
    let skipLines = 0;
    const known: { layout: HeaderLayout | null } = { layout: null };
    for (let resumes = 0; ; resumes++) {
      const resumeAfter = yield* readPass(path, file, options, skipLines, known);
      if (resumeAfter === null) return;
      if (resumes >= MAX_RESUMES) {
        throw new CatalogueFileError(
          `${path} has more than ${MAX_RESUMES} quotes that are never closed (the last on line ${resumeAfter}); ` +
            'its quoting is broken throughout, so fix the file and run again.',
        );
      }
      skipLines = resumeAfter;
    }
  } finally {
    await file.close();
  }
}

async function openForReading(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw fileError(path, err);
  }
}

/**
 * The file's bytes from its start, read at explicit positions. Not fs.createReadStream over the handle:
 * destroying such a stream (a pass that stops early) closes the descriptor even with autoClose off.
 */
async function* bytesOf(file: FileHandle, chunkBytes = 64 * 1024): AsyncGenerator<Buffer> {
  for (let position = 0; ; ) {
    const buffer = Buffer.allocUnsafe(chunkBytes);
    const { bytesRead } = await file.read(buffer, 0, chunkBytes, position);
    if (bytesRead === 0) return;
    position += bytesRead;
    yield buffer.subarray(0, bytesRead);
  }
}

function fileError(path: string, err: unknown): CatalogueFileError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CatalogueFileError(`${path} does not exist; check the catalogue path.`, { cause: err });
  return new CatalogueFileError(`Reading ${path} failed: ${(err as Error).message}. Check the file and run again.`, { cause: err });
}

/**
 * One pass of csv-parse over the file from physical line `skipLines + 1` (the header is read and
 * checked only when `skipLines` is 0). Returns null at the end of the file, or the line of a record
 * whose quote never closes: the next pass starts after it.
 */
async function* readPass(
  path: string,
  file: FileHandle,
  options: ReadCsvOptions,
  skipLines: number,
  known: { layout: HeaderLayout | null },
): AsyncGenerator<CsvItem, number | null> {
  const maxRecordChars = options.maxRecordChars ?? 1_000_000;
  const index = new CsvLineIndex(skipLines);
  const skipped: CsvError[] = [];
  /** Set when the parser met a quote that never closes: how many records it had emitted before, and why. */
  const unclosed: { at: { recordsBefore: number; error: CsvError } | null } = { at: null };
  const parser = parse({
    bom: true,
    record_delimiter: '\n',
    relax_column_count: true,
    skip_records_with_error: true,
    raw: true,
    info: true,
    max_record_size: maxRecordChars,
    on_skip: (err) => {
      if (err === undefined) return undefined;
      if (err.code === 'CSV_INVALID_CLOSING_QUOTE') {
        // csv-parse skips the record but stays "inside quotes", swallowing every following record up to
        // the next quote character. The record is bad either way: read the rest of its line unquoted, so
        // that the next line starts a fresh record.
        const state = (parser as unknown as { state?: { quoting?: boolean } }).state;
        if (state && typeof state.quoting === 'boolean') state.quoting = false;
      }
      // After a record past the size limit csv-parse loses its place in the stream, and at the end of the
      // file an open quote has swallowed everything after it: both are resumed in a fresh pass.
      if (err.code === 'CSV_MAX_RECORD_SIZE' || err.code === 'CSV_QUOTE_NOT_CLOSED') {
        unclosed.at ??= { recordsBefore: parser.info.records, error: err };
        return undefined;
      }
      skipped.push(err);
      return undefined;
    },
  });
  // Each pass reads the one open file from its start; the handle stays open for the next pass.
  const source = Readable.from(bytesOf(file), { objectMode: false });
  // pipeline() forwards a read error (missing file, permissions) to the parser, so the loop below throws it.
  pipeline(source, index, parser, () => undefined);

  let headerSeen = skipLines > 0;
  /** Records taken from the parser so far (the header included), to compare with `unclosed.at.recordsBefore`. */
  let taken = 0;
  /** Output offset where the previous record ended: anything between it and the next record was skipped. */
  let previousEnd = skipLines > 0 ? 0 : -1;

  /**
   * The bytes from..to held no valid record. One line is reported as such. A span of several lines is
   * most likely a quote that opened on its first line and swallowed the lines after it, which may be
   * good records: only the first line is reported, and the caller resumes reading on the next line.
   */
  function unparsable(from: number, to: number): { item: CsvItem; resume: boolean } {
    const line = index.lineAt(from);
    const endLine = Math.max(line, index.lineAt(Math.max(from, to - 1)));
    const errors = skipped.splice(0, skipped.findLastIndex((e) => typeof e.bytes !== 'number' || e.bytes < to) + 1);
    const first = errors[0];
    const why = first ? ` csv-parse said: ${describeCsvError(first)}` : '';
    if (endLine === line) {
      return { item: { kind: 'unparsable', line, endLine, reason: `This record is not valid CSV and was skipped; check the quoting.${why}` }, resume: false };
    }
    const reason =
        `The record starting on line ${line} is not valid CSV (its quoting runs on to line ${endLine}); line ${line} was ` +
        `skipped and reading carried on at line ${line + 1}; check the quoting.${why}`;
    return { item: { kind: 'unparsable', line, endLine: line, reason }, resume: true };
  }

  try {
    for await (const item of parser as AsyncIterable<ParsedRecord>) {
      // Records emitted after the parser lost its place are not trusted: the next pass reads them again.
      if (unclosed.at !== null && taken >= unclosed.at.recordsBefore) break;
      taken++;
      const end = item.info.bytes;
      const start = end - Buffer.byteLength(item.raw, 'utf8');
      if (previousEnd >= 0 && start > previousEnd) {
        const bad = unparsable(previousEnd, start);
        yield bad.item;
        // This record (and those after it) are read again by the next pass, from the line after.
        if (bad.resume) return bad.item.line;
      }
      previousEnd = end;
      const line = index.lineAt(start);
      const fields = item.record.map(normaliseField);
      if (!headerSeen) {
        headerSeen = true;
        known.layout = readHeader(path, fields, options.header);
        continue;
      }
      if (fields.length === 1 && fields[0] === '') yield { kind: 'blank', line };
      else yield placeFields(line, fields, known.layout as HeaderLayout);
    }
  } catch (err) {
    if (err instanceof CatalogueFileError) throw err;
    throw fileError(path, err);
  } finally {
    // Stops reading when the caller leaves early (a limit); harmless once the stream has ended.
    source.destroy();
    parser.destroy();
  }
  const open = unclosed.at;
  if (open !== null) {
    // Everything after the last good record belongs to the record with the open quote (or to skipped
    // records before it): report its first line and resume right after it.
    const line = index.lineAt(Math.max(previousEnd, 0));
    if (!headerSeen) {
      throw new CatalogueFileError(
        `The header line of ${path} opens a quote that is never closed, so no column can be read; fix the header and run again.`,
      );
    }
    skipped.length = 0;
    yield {
      kind: 'unparsable',
      line,
      endLine: line,
      reason:
        `Line ${line} opens a quoted field that is never closed, so this record was skipped and reading carried on ` +
        `at line ${line + 1}; check the quoting. csv-parse said: ${describeCsvError(open.error)}`,
    };
    return line;
  }
  if (!headerSeen) throw new CatalogueFileError(`${path} is empty; a catalogue file needs at least its header line.`);
  if (previousEnd < index.bytesOut) {
    const bad = unparsable(Math.max(previousEnd, 0), index.bytesOut);
    yield bad.item;
    if (bad.resume) return bad.item.line;
  }
  return null;
}

/** Where each wanted column sits in the file's records. */
interface HeaderLayout {
  /** Fields per record, as the header has them. */
  width: number;
  /** Position of the unnamed index column, or null when the file has none. */
  index: number | null;
  /** Position of each wanted column, in the order of ReadCsvOptions.header. */
  columns: number[];
}

/**
 * Reads the header by name: the wanted columns may come in any order and other named columns are
 * ignored, but each wanted column must be there exactly once, else this is not the file we expect.
 */
function readHeader(path: string, fields: string[], expected: readonly string[]): HeaderLayout {
  const shown = (names: readonly string[]): string => {
    const text = names.join(',');
    return text.length > 300 ? `${text.slice(0, 297)}...` : text;
  };
  const missing = expected.filter((name) => !fields.includes(name));
  const repeated = expected.filter((name) => fields.indexOf(name) !== fields.lastIndexOf(name));
  if (missing.length > 0 || repeated.length > 0) {
    const problems = [
      missing.length > 0 ? `no ${missing.join(', ')} column` : '',
      repeated.length > 0 ? `${repeated.join(', ')} more than once` : '',
    ].filter(Boolean);
    throw new CatalogueFileError(
      `${path} does not have the expected header (${problems.join('; ')}): want the columns ${expected.join(',')} ` +
        `(any order, and an unnamed index column), got ${shown(fields)}. Check that the right file was given.`,
    );
  }
  const index = fields.indexOf('');
  return { width: fields.length, index: index === -1 ? null : index, columns: expected.map((name) => fields.indexOf(name)) };
}

/** A record's fields in canonical order (index column, then the wanted columns). */
function placeFields(line: number, fields: string[], layout: HeaderLayout): CsvItem {
  const placed = [layout.index === null ? '' : (fields[layout.index] ?? ''), ...layout.columns.map((i) => fields[i] ?? '')];
  if (fields.length !== layout.width) return { kind: 'wrong-width', line, fields: placed, got: fields.length, want: layout.width };
  return { kind: 'record', line, fields: placed };
}
