/**
 * Multi-phrase, case-insensitive matcher (Aho–Corasick over a folded ASCII alphabet).
 * One pass over the text whatever the number of phrases, so a 1 MiB hostile message costs
 * the same as any other 1 MiB of text; there is no regular expression to backtrack.
 */

export interface PhraseSpec {
  text: string;
  /** Require a non-alphanumeric character (or the text edge) on both sides. */
  wholeWord?: boolean;
}

// Symbol 0 is every character no phrase uses; symbol 1 is a line break, which leaves the state as it
// is: text copied from a terminal is wrapped at any character ("no match fo\nr platform"), and a real
// line break almost always follows a separator anyway. Phrase characters get 2, 3, …
const OTHER = 0;
const LINE_BREAK = 1;

const isLineBreak = (code: number): boolean => code === 10 || code === 13;

const isWordChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

const isWholeWord = (text: string, start: number, end: number): boolean =>
  (start === 0 || !isWordChar(text.charCodeAt(start - 1))) &&
  (end === text.length || !isWordChar(text.charCodeAt(end)));

/** Where a match of `length` characters ending at `end` starts, counting back over skipped line breaks. */
export const startOf = (text: string, end: number, length: number): number => {
  let start = end;
  for (let matched = 0; matched < length && start > 0; start--) {
    if (!isLineBreak(text.charCodeAt(start - 1))) matched++;
  }
  return start;
};

/** The alphabet of exactly the characters the phrases use keeps the transition table small and cache-hot. */
const buildAlphabet = (phrases: readonly PhraseSpec[]): { symbolOf: Uint8Array; symbols: number } => {
  const symbolOf = new Uint8Array(128);
  symbolOf[10] = symbolOf[13] = LINE_BREAK;
  let symbols = 2;
  for (const phrase of phrases) {
    if (phrase.text.length === 0) throw new Error('empty phrase');
    for (let i = 0; i < phrase.text.length; i++) {
      const code = phrase.text.charCodeAt(i);
      if (code >= 128 || code < 32 || (code >= 65 && code <= 90)) {
        throw new Error(
          `phrase ${JSON.stringify(phrase.text)} uses an unsupported character (lowercase ASCII only)`,
        );
      }
      if (symbolOf[code] === OTHER) symbolOf[code] = symbols++;
    }
  }
  for (let c = 65; c <= 90; c++) symbolOf[c] = symbolOf[c + 32]!;
  symbolOf[9] = symbolOf[32]!; // a tab reads as a space
  return { symbolOf, symbols };
};

export class PhraseMatcher<T extends PhraseSpec> {
  private readonly symbolOf: Uint8Array;
  private readonly symbols: number;
  private readonly next: Uint16Array | Uint32Array;
  private readonly accepting: Uint8Array;
  private readonly outputs: number[][];
  private readonly phrases: readonly T[];
  // Scratch for forEachLast, reset after each use (the matcher is not re-entrant).
  private readonly lastEnd: Int32Array;
  private readonly seen: Int32Array;

  constructor(phrases: readonly T[]) {
    this.phrases = phrases;
    this.lastEnd = new Int32Array(phrases.length).fill(-1);
    this.seen = new Int32Array(phrases.length);
    const { symbolOf, symbols } = buildAlphabet(phrases);
    this.symbolOf = symbolOf;
    this.symbols = symbols;

    // The trie.
    const goto: Int32Array[] = [new Int32Array(symbols).fill(-1)];
    const outputs: number[][] = [[]];
    phrases.forEach((phrase, index) => {
      let state = 0;
      for (let i = 0; i < phrase.text.length; i++) {
        const symbol = symbolOf[phrase.text.charCodeAt(i)]!;
        let target = goto[state]![symbol]!;
        if (target === -1) {
          target = goto.length;
          goto.push(new Int32Array(symbols).fill(-1));
          outputs.push([]);
          goto[state]![symbol] = target;
        }
        state = target;
      }
      outputs[state]!.push(index);
    });

    // Breadth-first failure links, folded into a dense transition table.
    const fail = new Int32Array(goto.length);
    const queue: number[] = [];
    for (let s = 0; s < symbols; s++) {
      const target = goto[0]![s]!;
      if (target === -1) goto[0]![s] = 0;
      else queue.push(target);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      for (let s = 0; s < symbols; s++) {
        const target = goto[state]![s]!;
        if (target === -1) {
          goto[state]![s] = goto[fail[state]!]![s]!;
        } else {
          fail[target] = goto[fail[state]!]![s]!;
          outputs[target]!.push(...outputs[fail[target]!]!);
          queue.push(target);
        }
      }
    }

    this.next =
      goto.length <= 0xffff ? new Uint16Array(goto.length * symbols) : new Uint32Array(goto.length * symbols);
    this.accepting = new Uint8Array(goto.length);
    goto.forEach((row, state) => {
      this.next.set(row, state * symbols);
      this.next[state * symbols + LINE_BREAK] = state;
      if (outputs[state]!.length > 0) this.accepting[state] = 1;
    });
    this.outputs = outputs;
  }

  /** The one scan loop: `onHit(phraseIndex, start, end)` for every word-bounded occurrence, by end. */
  private walk(
    text: string,
    from: number,
    to: number,
    onHit: (index: number, start: number, end: number) => void,
  ): void {
    const { next, accepting, outputs, phrases, symbolOf, symbols } = this;
    let state = 0;
    for (let i = from; i < to; i++) {
      const code = text.charCodeAt(i);
      const symbol = code < 128 ? symbolOf[code]! : OTHER;
      state = next[state * symbols + symbol]!;
      // A line break keeps the state, so it must not report the match that ended before it again.
      if (accepting[state] === 0 || symbol === LINE_BREAK) continue;
      const found = outputs[state]!;
      for (let k = 0; k < found.length; k++) {
        const index = found[k]!;
        const phrase = phrases[index]!;
        const start = startOf(text, i + 1, phrase.text.length);
        if (phrase.wholeWord && !isWholeWord(text, start, i + 1)) continue;
        onHit(index, start, i + 1);
      }
    }
  }

  /** Calls `visit` for every occurrence of every phrase, in order of where it ends. */
  scan(
    text: string,
    visit: (phrase: T, start: number, end: number) => void,
    from = 0,
    to = text.length,
  ): void {
    this.walk(text, from, to, (index, start, end) => visit(this.phrases[index]!, start, end));
  }

  /**
   * Calls `visit` once per distinct phrase found, with where it last ends: the classifier's path,
   * which needs no per-hit allocation and calls `visit` only once per phrase.
   */
  forEachLast(text: string, visit: (phrase: T, end: number) => void): void {
    const { lastEnd, seen } = this;
    let seenCount = 0;
    this.walk(text, 0, text.length, (index, _start, end) => {
      if (lastEnd[index] === -1) seen[seenCount++] = index;
      lastEnd[index] = end;
    });
    for (let k = 0; k < seenCount; k++) {
      const index = seen[k]!;
      const end = lastEnd[index]!;
      lastEnd[index] = -1;
      visit(this.phrases[index]!, end);
    }
  }
}
