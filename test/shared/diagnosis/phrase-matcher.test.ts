import fc from 'fast-check';
import { PhraseMatcher, type PhraseSpec } from '#shared/diagnosis/phrase-matcher';

// The obvious quadratic reference: every start position, every phrase, over the text with line
// breaks removed (the matcher skips them), mapped back to positions in the original text.
const naiveHits = (phrases: readonly PhraseSpec[], text: string): string[] => {
  const positions: number[] = [];
  let visible = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n' || text[i] === '\r') continue;
    positions.push(i);
    visible += text[i]!.toLowerCase().replace('\t', ' ');
  }
  const word = (i: number) => i >= 0 && i < text.length && /[A-Za-z0-9]/.test(text[i]!);
  const hits: string[] = [];
  phrases.forEach((phrase, index) => {
    for (let at = visible.indexOf(phrase.text); at !== -1; at = visible.indexOf(phrase.text, at + 1)) {
      const start = positions[at]!;
      const end = positions[at + phrase.text.length - 1]! + 1;
      if (phrase.wholeWord && (word(start - 1) || word(end))) continue;
      hits.push(`${index}@${start}-${end}`);
    }
  });
  return hits.sort();
};

const matcherHits = (phrases: readonly PhraseSpec[], text: string): string[] => {
  const index = new Map(phrases.map((phrase, i) => [phrase, i]));
  const hits: string[] = [];
  new PhraseMatcher(phrases).scan(text, (phrase, start, end) =>
    hits.push(`${index.get(phrase)}@${start}-${end}`),
  );
  return hits.sort();
};

const alphabet = fc.constantFrom(...'abAB o:/-4 \n'.split(''));
const phraseArb = fc.record({
  text: fc.string({ unit: fc.constantFrom(...'ab o:/-4'.split('')), minLength: 1, maxLength: 5 }),
  wholeWord: fc.boolean(),
});

describe('PhraseMatcher', () => {
  it('finds exactly what a naive search finds, case-insensitively, with word boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(phraseArb, { minLength: 1, maxLength: 8 }),
        fc.string({ unit: alphabet, maxLength: 60 }),
        (phrases, text) => {
          expect(matcherHits(phrases, text)).toEqual(naiveHits(phrases, text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('matches across a line break that a terminal inserted mid-word', () => {
    const hits: string[] = [];
    new PhraseMatcher([{ text: 'no match for platform' }]).scan(
      'x: no match fo\nr platform in manifest',
      (phrase, start, end) => hits.push(`${start}-${end}`),
    );
    expect(hits).toEqual(['3-25']);
  });

  it('reports the last end of each phrase once', () => {
    const phrases = [{ text: 'not found' }, { text: 'eof', wholeWord: true }];
    const seen: Array<[string, number]> = [];
    new PhraseMatcher(phrases).forEachLast('NOT FOUND; geoff eof; Not Found.', (phrase, end) =>
      seen.push([phrase.text, end]),
    );
    expect(seen.sort()).toEqual([
      ['eof', 20],
      ['not found', 31],
    ]);
  });

  it('reads again from its log exactly the hits a second scan of a range finds', () => {
    const hitsOf = (visit: (collect: (phrase: PhraseSpec, start: number, end: number) => void) => void) => {
      const hits: string[] = [];
      visit((phrase, start, end) => hits.push(`${phrase.text}@${start}-${end}`));
      return hits;
    };
    fc.assert(
      fc.property(
        fc.uniqueArray(phraseArb, { minLength: 1, maxLength: 6, selector: (phrase) => phrase.text }),
        // Long enough, at times, for more hits than the log holds: then it scans again.
        fc.string({ unit: alphabet, maxLength: 3000 }),
        fc.nat(),
        fc.nat(),
        (phrases, text, a, b) => {
          const matcher = new PhraseMatcher(phrases);
          const from = text.length === 0 ? 0 : a % text.length;
          const to = from + (text.length === 0 ? 0 : b % (text.length - from + 1));
          matcher.forEachLast(text, () => undefined);
          const again = hitsOf((collect) => matcher.scanAgain(text, collect, from, to));
          const scanned = hitsOf((collect) => matcher.scan(text, collect, from, to));
          expect(again).toEqual(scanned);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses phrases it could never match', () => {
    expect(() => new PhraseMatcher([{ text: 'naïve' }])).toThrow(/unsupported character/);
    expect(() => new PhraseMatcher([{ text: '' }])).toThrow(/empty/);
  });
});
