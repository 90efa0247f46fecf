// Row validation for Products.csv and Images.csv: each CSV record becomes a typed row or a reject with
// a reason a person can act on. Only whole-file problems (missing file, wrong header) throw.
import { z } from 'zod';
import { CATEGORY_NAMES, isCategoryName, topLevelLabel } from '../domain/category.js';
import { isValidId } from '../domain/listing.js';
import type { ImageRow, ProductRow } from '../domain/listing.js';
import { readCsvRecords } from './csv-records.js';

/** A source row that was not used, and why. `line` is the 1-based physical line the record starts on. */
export interface RowReject {
  file: string;
  line: number;
  /** Last line of the record when it spans several (multi-line fields, broken quoting). */
  endLine?: number;
  /** The row's id when one could be read. */
  id?: string;
  reason: string;
}

export type RowResult<T> = { ok: true; row: T } | { ok: false; reject: RowReject } | { ok: 'blank'; line: number };

export const PRODUCT_COLUMNS = ['id', 'product_name', 'category', 'product_description', 'price', 'location'] as const;
export const IMAGE_COLUMNS = ['id', 'product_id', 'bucket_link', 'image_ref', 'create_time'] as const;

const quoted = (v: unknown): string => JSON.stringify(String(v).slice(0, 80));

const idSchema = (column: string) =>
  z
    .string()
    .min(1, { error: `The ${column} is empty; every row needs one.`, abort: true })
    .refine(isValidId, {
      error: (iss) =>
        `The ${column} ${quoted(iss.input)} is not a usable id; ids are 1-128 letters, digits, "-" or "_" ` +
        '(a UUID fits) and not only digits.',
    });

const productSchema = z.object({
  sourceIndex: z.string(),
  id: idSchema('id'),
  productName: z.string().min(1, { error: 'The product_name is empty; every listing needs a name.' }),
  category: z.string().refine((c) => c === '' || isCategoryName(topLevelLabel(c)), {
    error: (iss) =>
      `The category ${quoted(iss.input)} does not start with one of the ${CATEGORY_NAMES.length} known top-level ` +
      'categories; correct the category path or extend CATEGORY_NAMES and retrain.',
  }),
  description: z.string(),
  price: z.string(),
  location: z.string(),
});

/** ISO 8601 date or date-time, as pandas and most exporters write it. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

const imageSchema = z.object({
  sourceIndex: z.string(),
  id: idSchema('id'),
  productId: idSchema('product_id'),
  bucketLink: z.string(),
  imageRef: z.string(),
  createTime: z
    .string()
    .refine((t) => t === '' || (ISO_TIME.test(t) && !Number.isNaN(Date.parse(t))), {
      error: (iss) => `The create_time ${quoted(iss.input)} is not an ISO date such as 2022-02-26 or 2022-02-26T10:00:00Z.`,
    })
    .transform((t) => (t === '' ? null : t)),
});

function issuesToReason(error: z.ZodError): string {
  return error.issues.map((i) => i.message).join(' ');
}

function fieldCountReason(got: number, want: number): string {
  return (
    `The record has ${got} fields but the header has ${want}; a comma or quote is probably missing or extra, ` +
    'so the row was skipped.'
  );
}

/**
 * Shared body of the two readers: `keys` name the record's fields in file order (the index column
 * first), and the schema turns them into a row.
 */
async function* readRows<T extends { line: number }>(
  path: string,
  columns: readonly string[],
  keys: readonly string[],
  schema: z.ZodType<Omit<T, 'line'>>,
): AsyncGenerator<RowResult<T>> {
  for await (const item of readCsvRecords(path, { header: columns })) {
    if (item.kind === 'blank') {
      yield { ok: 'blank', line: item.line };
      continue;
    }
    if (item.kind === 'unparsable') {
      yield { ok: false, reject: { file: path, line: item.line, endLine: item.endLine, reason: item.reason } };
      continue;
    }
    const { line, fields } = item;
    const id = fields[1] || undefined;
    if (item.kind === 'wrong-width') {
      yield { ok: false, reject: { file: path, line, id, reason: fieldCountReason(item.got, item.want) } };
      continue;
    }
    const parsed = schema.safeParse(Object.fromEntries(keys.map((key, i) => [key, fields[i]])));
    if (parsed.success) yield { ok: true, row: { line, ...parsed.data } as T };
    else yield { ok: false, reject: { file: path, line, id, reason: issuesToReason(parsed.error) } };
  }
}

/** Streams Products.csv as validated rows and rejects, in file order. */
export function readProductRows(path: string): AsyncGenerator<RowResult<ProductRow>> {
  const keys = ['sourceIndex', 'id', 'productName', 'category', 'description', 'price', 'location'];
  return readRows<ProductRow>(path, PRODUCT_COLUMNS, keys, productSchema);
}

/** Streams Images.csv as validated rows and rejects, in file order. */
export function readImageRows(path: string): AsyncGenerator<RowResult<ImageRow>> {
  const keys = ['sourceIndex', 'id', 'productId', 'bucketLink', 'imageRef', 'createTime'];
  return readRows<ImageRow>(path, IMAGE_COLUMNS, keys, imageSchema);
}
