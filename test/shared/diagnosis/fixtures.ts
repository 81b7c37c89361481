/** The real-message corpora (test/fixtures/messages), as the diagnosis tests read them. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Fixture {
  id: string;
  message: string;
  reason?: string;
  image?: string;
  expected: string;
  source: string;
}

/** One JSON value per non-empty line of a file in test/fixtures/messages. */
export const jsonLines = (file: string): unknown[] =>
  readFileSync(join(__dirname, '../../fixtures/messages', file), 'utf8')
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as unknown);

// corpus.jsonl was collected first; holdout.jsonl later and independently, from other sources,
// to check that rules written against the first generalise.
export const allFixtures = (): Fixture[] => [
  ...(jsonLines('corpus.jsonl') as Fixture[]),
  ...(jsonLines('holdout.jsonl') as Fixture[]),
];
