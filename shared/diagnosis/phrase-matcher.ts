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

// The classifier's hit log holds this many hits; a message with more (only hostile ones) is scanned again instead.
const HIT_LOG_SIZE = 1024;

export class PhraseMatcher<T extends PhraseSpec> {
  private readonly symbolOf: Uint8Array;
  private readonly symbols: number;
  /** Dense transitions: `next[state + symbol]` is the next state, as the offset of its row. The states
   * that report a phrase are numbered last, from `firstAccepting`. */
  private readonly next: Uint32Array;
  private readonly firstAccepting: number;
  private readonly outputs: Int32Array[];
  private readonly phrases: readonly T[];
  private readonly lengths: Int32Array;
  private readonly wholeWord: Uint8Array;
  // Scratch for forEachLast and its hit log, reset at each call (the matcher is not re-entrant).
  private readonly lastEnd: Int32Array;
  private readonly seen: Int32Array;
  private readonly logPhrase = new Int32Array(HIT_LOG_SIZE);
  private readonly logStart = new Int32Array(HIT_LOG_SIZE);
  private readonly logEnd = new Int32Array(HIT_LOG_SIZE);
  private logged = 0;
  private logText: string | undefined;

  constructor(phrases: readonly T[]) {
    this.phrases = phrases;
    this.lastEnd = new Int32Array(phrases.length).fill(-1);
    this.seen = new Int32Array(phrases.length);
    this.lengths = Int32Array.from(phrases, (phrase) => phrase.text.length);
    this.wholeWord = Uint8Array.from(phrases, (phrase) => (phrase.wholeWord ? 1 : 0));
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

    // Renumber: the states that report come last, so the scan loop tells them by number alone.
    const order = goto.map((_, state) => state);
    order.sort((a, b) => Number(outputs[a]!.length > 0) - Number(outputs[b]!.length > 0) || a - b);
    const renamed = new Int32Array(goto.length);
    order.forEach((state, id) => (renamed[state] = id));
    const firstReporting = order.findIndex((state) => outputs[state]!.length > 0);
    const accepting = firstReporting === -1 ? goto.length : firstReporting;
    this.firstAccepting = accepting * symbols;

    // Entries are premultiplied (a state's row offset), so the scan loop does no multiplication.
    this.next = new Uint32Array(goto.length * symbols);
    order.forEach((state, id) => {
      const row = goto[state]!;
      for (let s = 0; s < symbols; s++) this.next[id * symbols + s] = renamed[row[s]!]! * symbols;
      this.next[id * symbols + LINE_BREAK] = id * symbols;
    });
    // The phrases each accepting state reports, by (state - firstAccepting) / symbols.
    this.outputs = order.slice(accepting).map((state) => Int32Array.from(outputs[state]!));
  }

  /** The one scan loop: `onHit(phraseIndex, start, end)` for every word-bounded occurrence, by end. */
  private walk(
    text: string,
    from: number,
    to: number,
    onHit: (index: number, start: number, end: number) => void,
  ): void {
    const { next, firstAccepting, outputs, lengths, wholeWord, symbolOf, symbols } = this;
    let state = 0;
    // Where the last line break is: a match after it needs no walk back to find its start.
    let lastBreak = -1;
    for (let i = from; i < to; i++) {
      const code = text.charCodeAt(i);
      const symbol = code < 128 ? symbolOf[code]! : OTHER;
      state = next[state + symbol]!;
      // A line break keeps the state, so it must not report the match that ended before it again.
      if (symbol === LINE_BREAK) {
        lastBreak = i;
        continue;
      }
      if (state < firstAccepting) continue;
      const found = outputs[((state - firstAccepting) / symbols) | 0]!;
      for (let k = 0; k < found.length; k++) {
        const index = found[k]!;
        const length = lengths[index]!;
        const start = lastBreak <= i - length ? i + 1 - length : startOf(text, i + 1, length);
        if (wholeWord[index] === 1 && !isWholeWord(text, start, i + 1)) continue;
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
   * which needs no per-hit allocation and calls `visit` only once per phrase. The same walk keeps a log
   * of the hits, which `scanAgain` reads instead of walking the text a second time.
   */
  forEachLast(text: string, visit: (phrase: T, end: number) => void): void {
    const { lastEnd, seen, logPhrase, logStart, logEnd } = this;
    let seenCount = 0;
    let logged = 0;
    this.walk(text, 0, text.length, (index, start, end) => {
      if (lastEnd[index] === -1) seen[seenCount++] = index;
      lastEnd[index] = end;
      if (logged < HIT_LOG_SIZE) {
        logPhrase[logged] = index;
        logStart[logged] = start;
        logEnd[logged] = end;
      }
      logged++;
    });
    this.logged = logged;
    this.logText = text;
    for (let k = 0; k < seenCount; k++) {
      const index = seen[k]!;
      const end = lastEnd[index]!;
      lastEnd[index] = -1;
      visit(this.phrases[index]!, end);
    }
  }

  /**
   * `scan(text, visit, from, to)` for the text of the last `forEachLast`: the same hits in the same
   * order (those that lie wholly in [from, to)), read from its log when every hit fitted.
   */
  scanAgain(
    text: string,
    visit: (phrase: T, start: number, end: number) => void,
    from: number,
    to: number,
  ): void {
    if (text !== this.logText || this.logged > HIT_LOG_SIZE) {
      this.scan(text, visit, from, to);
      return;
    }
    const { logPhrase, logStart, logEnd, phrases } = this;
    for (let k = 0; k < this.logged; k++) {
      const end = logEnd[k]!;
      if (end > to) break;
      const start = logStart[k]!;
      if (start >= from) visit(phrases[logPhrase[k]!]!, start, end);
    }
  }
}
