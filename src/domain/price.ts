// Price cleaning (DESIGN.md section 3): "£1,250.00" -> 1250. The research rule keeps digits and the
// decimal point; we apply it to the single number in the string so that text such as "£5 ono" still
// parses, while strings holding no number ("free", "") or several ("£5 - £10") are missing (null),
// never zero: a zero would teach the models that those items cost nothing.

/** Thousands separators ("1,250", "1,250,000") are not number boundaries; "1,25" is not one. */
const THOUSANDS_COMMA = /(\d),(?=\d{3}(?!\d))/g;
/** A minus before the number (or its currency sign): a negative price is an error, not a price. */
const NEGATIVE = /-\s*£?\s*[\d.]/;
/** A run of digits with at most one decimal point inside or after it. */
const NUMBER_RUN = /\d+(?:\.\d*)?|\.\d+/g;

/** Parses a listing price; `null` means missing (unparseable, empty or not a single number). */
export function parsePrice(raw: string): number | null {
  const compact = raw.trim().replace(THOUSANDS_COMMA, '$1');
  // "£5 - £10" is caught below (two numbers); this catches "-£5" and "-5" alone.
  if (NEGATIVE.test(compact) && !/\d\s*-/.test(compact)) return null;
  const runs = compact.match(NUMBER_RUN);
  if (runs === null || runs.length !== 1) return null;
  // "1.250.00" splits into two runs ("1.250", ".00") and so is rejected above.
  const value = Number(runs[0]);
  return Number.isFinite(value) ? value : null;
}
