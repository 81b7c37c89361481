/** Picks the excerpt of a message that decided a verdict: an exact substring, never rewritten. */

export const MAX_EVIDENCE = 300;
// A clause shorter than this ("not found") reads better with the clause before it.
const SHORT_CLAUSE = 30;

const isBoundary = (text: string, i: number): boolean => {
  const c = text.charCodeAt(i);
  if (c === 10 || c === 13) return true;
  return (c === 58 || c === 59) && text.charCodeAt(i + 1) === 32; // ": " or "; "
};

/** Start of the clause holding `pos`, looking back at most `limit` characters. */
const clauseStart = (text: string, pos: number, limit: number): number => {
  const floor = Math.max(0, pos - limit);
  for (let i = pos - 1; i >= floor; i--) {
    if (isBoundary(text, i)) return text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13 ? i + 1 : i + 2;
  }
  return floor;
};

const lineEnd = (text: string, from: number, limit: number): number => {
  const ceiling = Math.min(text.length, from + limit);
  for (let i = from; i < ceiling; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) return i;
  }
  return ceiling;
};

/**
 * The clause (or two) around [first, last), up to MAX_EVIDENCE characters, trimmed.
 * `first`..`last` spans every phrase of the winning cause near the deciding one.
 */
export const excerpt = (text: string, first: number, last: number): string => {
  if (last - first > MAX_EVIDENCE) first = Math.max(first, last - MAX_EVIDENCE);
  let start = Math.max(clauseStart(text, first, MAX_EVIDENCE), last - MAX_EVIDENCE);
  if (first - start < SHORT_CLAUSE && start > 0) {
    const earlier = clauseStart(text, Math.max(0, start - 2), MAX_EVIDENCE);
    if (last - earlier <= MAX_EVIDENCE) start = earlier;
  }
  const end = lineEnd(text, last, Math.max(0, MAX_EVIDENCE - (last - start)));
  return unwrap(text.slice(start, end).trim());
};

const count = (text: string, c: string): number => {
  let n = 0;
  for (let i = text.indexOf(c); i !== -1; i = text.indexOf(c, i + 1)) n++;
  return n;
};

// A JSON key that opens a wrapped message: {"message":"…, {\"message\":\"…
const JSON_KEY = /^[A-Za-z]+\\?":\\?"/;
// What structured logs append after the quoted error: ` key="…"`, ` image="…"`.
const LOG_FIELD = /\\?" [a-z][A-Za-z]*=/;

const BACKSLASH = 92;

/** Whether the text may end in a run of separators and `\\n` escapes: its last character must be one. */
const mayEndSeparators = (text: string): boolean => {
  const c = text.charCodeAt(text.length - 1);
  return (
    c === 32 ||
    c === 44 ||
    c === 59 ||
    c === BACKSLASH ||
    (c === 110 && text.charCodeAt(text.length - 2) === BACKSLASH)
  );
};

/** Whether the text may end in escaped quotes and closers (`\\"}`, `\\n]`): a backslash, and one of `"n}]` last. */
const mayEndEscapes = (text: string): boolean => {
  const c = text.charCodeAt(text.length - 1);
  return (c === 34 || c === 110 || c === 125 || c === 93) && text.includes('\\');
};

/**
 * Drops the wrapping the excerpt was cut out of (stray quotes, brackets, JSON keys, "\n" escapes,
 * trailing log fields), so what is left reads as the registry's words. Still a substring.
 */
const unwrap = (evidence: string): string => {
  let text = evidence;
  const field = text.includes('" ') ? LOG_FIELD.exec(text) : null;
  if (field && field.index > 0) text = text.slice(0, field.index);
  for (let changed = true; changed && text.length > 0;) {
    const before = text;
    text = text.replace(/^(?:\\n|[{["'\\ ])+/, '');
    const key = JSON_KEY.exec(text);
    if (key) text = text.slice(key[0].length);
    // The end-anchored patterns run only when the last character could end a match (an engine tries
    // them at every position).
    if (mayEndSeparators(text)) text = text.replace(/(?:\\n|\\|[ ,;])+$/, '');
    if (mayEndEscapes(text)) text = text.replace(/\\+["n](?:\\+["n]|[}\]"])*$/, '');
    const lastChar = text.charAt(text.length - 1);
    if (
      (lastChar === '"' && count(text, '"') % 2 === 1) ||
      (lastChar === "'" && count(text, "'") % 2 === 1) ||
      (lastChar === ']' && count(text, ']') > count(text, '[')) ||
      (lastChar === '}' && count(text, '}') > count(text, '{')) ||
      (lastChar === ')' && count(text, ')') > count(text, '('))
    ) {
      text = text.slice(0, -1);
    }
    changed = text !== before;
  }
  return text.length > 0 ? text : evidence;
};

/** The first line of a message, bounded, for verdicts with no deciding phrase. */
export const leadingLine = (text: string): string => text.slice(0, lineEnd(text, 0, MAX_EVIDENCE)).trim();
