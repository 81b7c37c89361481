import fc from 'fast-check';
import { PhraseMatcher, type PhraseSpec } from '#shared/diagnosis/phrase-matcher';

// The obvious quadratic reference: every start position, every phrase.
const naiveHits = (phrases: readonly PhraseSpec[], text: string): string[] => {
  const lower = text.replace(/[A-Z]/g, (c) => c.toLowerCase()).replace(/[\t\n\r]/g, ' ');
  const word = (i: number) => i >= 0 && i < text.length && /[A-Za-z0-9]/.test(text[i]!);
  const hits: string[] = [];
  phrases.forEach((phrase, index) => {
    for (let at = lower.indexOf(phrase.text); at !== -1; at = lower.indexOf(phrase.text, at + 1)) {
      const end = at + phrase.text.length;
      if (phrase.wholeWord && (word(at - 1) || word(end))) continue;
      hits.push(`${index}@${at}-${end}`);
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

  it('refuses phrases it could never match', () => {
    expect(() => new PhraseMatcher([{ text: 'naïve' }])).toThrow(/unsupported character/);
    expect(() => new PhraseMatcher([{ text: '' }])).toThrow(/empty/);
  });
});
