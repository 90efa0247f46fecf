// Connection URLs appear in error messages and logs; their passwords must not.

/** The URL with its password removed; `what` names it when the URL cannot be parsed. */
export function redactUrl(url: string, what = 'URL'): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    return parsed.toString();
  } catch {
    return `(an unparseable ${what})`;
  }
}
