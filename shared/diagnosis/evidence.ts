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
  return text.slice(start, end).trim();
};

/** The first line of a message, bounded, for verdicts with no deciding phrase. */
export const leadingLine = (text: string): string => text.slice(0, lineEnd(text, 0, MAX_EVIDENCE)).trim();
