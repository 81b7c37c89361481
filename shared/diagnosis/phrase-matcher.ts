/**
 * Multi-phrase, case-insensitive matcher (Aho–Corasick over a folded ASCII alphabet).
 * One pass over the text whatever the number of phrases, so a 1 MiB hostile message costs
 * the same as any other 1 MiB of text; there is no regular expression to backtrack.
 */

export interface PhraseHit<T> {
  phrase: T;
  /** Offset of the first character of the match in the original text. */
  start: number;
  end: number;
}

export interface PhraseSpec {
  text: string;
  /** Require a non-alphanumeric character (or the text edge) on both sides. */
  wholeWord?: boolean;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789 :/.-_\'"()=@,;[]{}<>*+!?#%&|\\';
const OTHER = ALPHABET.length;
const SYMBOLS = OTHER + 1;

// Folds ASCII to lower case; every other character becomes OTHER, which no phrase contains.
const SYMBOL_OF = new Uint8Array(128).fill(OTHER);
for (let i = 0; i < ALPHABET.length; i++) SYMBOL_OF[ALPHABET.charCodeAt(i)] = i;
for (let c = 65; c <= 90; c++) SYMBOL_OF[c] = SYMBOL_OF[c + 32]!;
// Tabs and newlines read as spaces, so wrapped messages still match.
SYMBOL_OF[9] = SYMBOL_OF[10] = SYMBOL_OF[13] = SYMBOL_OF[32]!;

const symbolAt = (text: string, i: number): number => {
  const code = text.charCodeAt(i);
  return code < 128 ? SYMBOL_OF[code]! : OTHER;
};

const isWordChar = (code: number): boolean =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

export class PhraseMatcher<T extends PhraseSpec> {
  private readonly next: Int32Array;
  private readonly outputs: number[][];
  private readonly phrases: readonly T[];

  constructor(phrases: readonly T[]) {
    this.phrases = phrases;
    const goto: Int32Array[] = [new Int32Array(SYMBOLS).fill(-1)];
    const outputs: number[][] = [[]];
    phrases.forEach((phrase, index) => {
      if (phrase.text.length === 0) throw new Error('empty phrase');
      let state = 0;
      for (let i = 0; i < phrase.text.length; i++) {
        const symbol = symbolAt(phrase.text, i);
        if (symbol === OTHER)
          throw new Error(`phrase ${JSON.stringify(phrase.text)} uses an unsupported character`);
        let target = goto[state]![symbol]!;
        if (target === -1) {
          target = goto.length;
          goto.push(new Int32Array(SYMBOLS).fill(-1));
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
    for (let s = 0; s < SYMBOLS; s++) {
      const target = goto[0]![s]!;
      if (target === -1) goto[0]![s] = 0;
      else queue.push(target);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      for (let s = 0; s < SYMBOLS; s++) {
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

    this.next = new Int32Array(goto.length * SYMBOLS);
    goto.forEach((row, state) => this.next.set(row, state * SYMBOLS));
    this.outputs = outputs;
  }

  /** Every occurrence of every phrase, in order of where it ends. */
  findAll(text: string): PhraseHit<T>[] {
    const hits: PhraseHit<T>[] = [];
    const { next, outputs, phrases } = this;
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      state = next[state * SYMBOLS + symbolAt(text, i)]!;
      const found = outputs[state]!;
      for (let k = 0; k < found.length; k++) {
        const phrase = phrases[found[k]!]!;
        const start = i + 1 - phrase.text.length;
        if (phrase.wholeWord && !isWholeWord(text, start, i + 1)) continue;
        hits.push({ phrase, start, end: i + 1 });
      }
    }
    return hits;
  }
}

const isWholeWord = (text: string, start: number, end: number): boolean =>
  (start === 0 || !isWordChar(text.charCodeAt(start - 1))) &&
  (end === text.length || !isWordChar(text.charCodeAt(end)));
