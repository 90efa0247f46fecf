// Text cleaning for the models (DESIGN.md section 3), plus display helpers for scraped names.
//
// The research project used Python's `re.sub(r'\W', ' ', text)`, whose `\w` is Unicode-aware: letters
// and digits of every script plus "_". We match that with \p{L}\p{N}_ and additionally keep combining
// marks (\p{M}) so scripts that write vowels as marks are not shredded. Text is NFKC-normalised first,
// so "é" typed as e + combining accent, full-width letters and ligatures ("ﬁ") become ordinary letters.
// Emoji and typographic punctuation (’ “ ” – •) are non-word characters and become spaces, so
// "don’t" -> "don t" -> "don" once one-character words are dropped, exactly as in the research code.
// Word length counts code points, not UTF-16 units.

const NON_WORD = /[^\p{L}\p{M}\p{N}_]+/gu;

/** Model text: non-word chars -> spaces, lower-cased, whitespace collapsed, 1-char words dropped. */
export function cleanModelText(raw: string): string {
  return raw
    .normalize('NFKC')
    .replace(NON_WORD, ' ')
    .toLowerCase()
    .split(' ')
    .filter((word) => [...word].length > 1)
    .join(' ');
}

/** The scraper appended " | in <location> | Gumtree" to every name; anchored at the end because
 * names themselves may contain "|". */
const GUMTREE_SUFFIX = /\s*\|\s*in\s+[^|]*\|\s*Gumtree\s*$/i;

/** Removes the " | in <location> | Gumtree" tail for display; other names are returned trimmed. */
export function stripGumtreeSuffix(name: string): string {
  const stripped = name.replace(GUMTREE_SUFFIX, '').trim();
  // A name that is nothing but the suffix keeps its raw form rather than becoming empty.
  return stripped === '' ? name.trim() : stripped;
}
