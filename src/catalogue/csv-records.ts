// Streams the records of one catalogue CSV file through csv-parse, configured for the research export:
// only "\n" ends a record (fields hold stray bare "\r"), every record carries the physical line it
// starts on, and a record csv-parse cannot read becomes an `unparsable` item instead of ending the run.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import { CsvLineIndex } from './line-index.js';

export type CsvItem =
  | { kind: 'record'; line: number; fields: string[] }
  | { kind: 'blank'; line: number }
  | { kind: 'unparsable'; line: number; endLine: number; reason: string };

export interface ReadCsvOptions {
  /** Expected header after the unnamed index column, e.g. ['id', 'product_name', ...]. */
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

/**
 * Yields the records after the header in file order. The header is checked first; a file whose header
 * does not match is not the file we expect, and that is an error for the whole read.
 */
export async function* readCsvRecords(path: string, options: ReadCsvOptions): AsyncGenerator<CsvItem> {
  const maxRecordChars = options.maxRecordChars ?? 1_000_000;
  const index = new CsvLineIndex();
  const skipped: CsvError[] = [];
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
      // After this error csv-parse loses its place in the stream, so carrying on would be a guess.
      if (err.code === 'CSV_MAX_RECORD_SIZE') {
        throw new CatalogueFileError(
          `${path} has a record longer than ${maxRecordChars} characters, most likely an unclosed quote; ` +
            'fix the quoting in the file and run again.',
          { cause: err },
        );
      }
      skipped.push(err);
      return undefined;
    },
  });
  const source = createReadStream(path);
  // pipeline() forwards a read error (missing file, permissions) to the parser, so the loop below throws it.
  pipeline(source, index, parser, () => undefined);

  let headerSeen = false;
  /** Output offset where the previous record ended: anything between it and the next record was skipped. */
  let previousEnd = -1;

  function unparsable(from: number, to: number): CsvItem {
    const line = index.lineAt(from);
    const endLine = Math.max(line, index.lineAt(Math.max(from, to - 1)));
    const errors = skipped.splice(0, skipped.findLastIndex((e) => typeof e.bytes !== 'number' || e.bytes < to) + 1);
    const first = errors[0];
    const span = endLine > line ? `Lines ${line}-${endLine} are` : 'This record is';
    const why = first ? ` csv-parse said: ${describeCsvError(first)}` : '';
    return {
      kind: 'unparsable',
      line,
      endLine,
      reason: `${span} not valid CSV and ${endLine > line ? 'were' : 'was'} skipped; check the quoting.${why}`,
    };
  }

  try {
    for await (const item of parser as AsyncIterable<ParsedRecord>) {
      const end = item.info.bytes;
      const start = end - Buffer.byteLength(item.raw, 'utf8');
      if (previousEnd >= 0 && start > previousEnd) yield unparsable(previousEnd, start);
      previousEnd = end;
      const line = index.lineAt(start);
      const fields = item.record.map(normaliseField);
      if (!headerSeen) {
        headerSeen = true;
        checkHeader(path, fields, options.header);
        continue;
      }
      if (fields.length === 1 && fields[0] === '') yield { kind: 'blank', line };
      else yield { kind: 'record', line, fields };
    }
  } catch (err) {
    if (err instanceof CatalogueFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CatalogueFileError(`${path} does not exist; check the catalogue path.`, { cause: err });
    throw new CatalogueFileError(`Reading ${path} failed: ${(err as Error).message}. Check the file and run again.`, { cause: err });
  } finally {
    // Stops reading when the caller leaves early (a limit); harmless once the stream has ended.
    source.destroy();
    parser.destroy();
  }
  if (!headerSeen) throw new CatalogueFileError(`${path} is empty; a catalogue file needs at least its header line.`);
  if (previousEnd < index.bytesOut) {
    yield unparsable(previousEnd, index.bytesOut);
  }
}

function checkHeader(path: string, fields: string[], expected: readonly string[]): void {
  const named = fields.slice(1);
  const ok = named.length === expected.length && named.every((name, i) => name === expected[i]);
  if (!ok) {
    throw new CatalogueFileError(
      `${path} does not have the expected header: want an index column then ${expected.join(',')}, ` +
        `got ${fields.join(',')}. Check that the right file was given.`,
    );
  }
}
