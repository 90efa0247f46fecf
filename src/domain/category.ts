// Categories (DESIGN.md section 3): the label is the top level of the category path, and a category's
// code is its position in the alphabetical list of names. "Alphabetical" means plain code-point order,
// which is what the research project's Python `sorted()` produced; for these names it agrees with a
// locale-aware sort. The code -> name table ships with every model, so models trained on a different
// list stay readable.

/** The 13 top-level categories of the catalogue (data/fbm/Products.csv), sorted; code = index. */
export const CATEGORY_NAMES = [
  'Appliances',
  'Baby & Kids Stuff',
  'Clothes, Footwear & Accessories',
  'Computers & Software',
  'DIY Tools & Materials',
  'Health & Beauty',
  'Home & Garden',
  'Music, Films, Books & Games',
  'Office Furniture & Equipment',
  'Other Goods',
  'Phones, Mobile Phones & Telecoms',
  'Sports, Leisure & Travel',
  'Video Games & Consoles',
] as const;

export type CategoryName = (typeof CATEGORY_NAMES)[number];

/** One row of the class table that ships with every model. */
export type CategoryTable = { code: number; name: string }[];

const PATH_SEPARATOR = ' / ';

/** The label of a category path: the text before the first " / ", trimmed. */
export function topLevelLabel(path: string): string {
  const cut = path.indexOf(PATH_SEPARATOR);
  return (cut === -1 ? path : path.slice(0, cut)).trim();
}

/** Code-point order, as Python's sorted() (localeCompare would depend on the machine's ICU data). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class UnknownCategoryError extends Error {
  constructor(readonly category: string, known: readonly string[]) {
    super(
      `The category ${JSON.stringify(category)} is not one of the ${known.length} known categories ` +
        `(${known.join('; ')}); correct the category or retrain with a class table that includes it.`,
    );
    this.name = 'UnknownCategoryError';
  }
}

/** Builds a class table from names: duplicates removed, sorted, code = position. */
export function buildCategoryTable(names: readonly string[]): CategoryTable {
  const unique = [...new Set(names.map((n) => n.trim()))];
  if (unique.some((n) => n === '')) {
    throw new RangeError('A category name is empty; every class in the table needs a non-empty name.');
  }
  if (unique.length === 0) {
    throw new RangeError('The class table has no categories; pass at least one category name.');
  }
  return unique.sort(byCodePoint).map((name, code) => ({ code, name }));
}

/** The class table of the 13 catalogue categories. */
export const DEFAULT_CATEGORY_TABLE: Readonly<CategoryTable> = Object.freeze(buildCategoryTable(CATEGORY_NAMES));

const NAME_SET: ReadonlySet<string> = new Set(CATEGORY_NAMES);

export function isCategoryName(name: string): name is CategoryName {
  return NAME_SET.has(name);
}

/** The code of a top-level category name; throws UnknownCategoryError for any other name. */
export function categoryCode(name: string, table: Readonly<CategoryTable> = DEFAULT_CATEGORY_TABLE): number {
  const found = table.find((c) => c.name === name)?.code;
  if (found === undefined) throw new UnknownCategoryError(name, table.map((c) => c.name));
  return found;
}

/** The name of a category code; throws RangeError for a code outside the table. */
export function categoryName(code: number, table: Readonly<CategoryTable> = DEFAULT_CATEGORY_TABLE): string {
  const entry = table.find((c) => c.code === code);
  if (entry === undefined) {
    throw new RangeError(
      `The category code ${code} is not in the class table (codes 0-${table.length - 1}); ` +
        'use a code produced by the same model version as the table.',
    );
  }
  return entry.name;
}
