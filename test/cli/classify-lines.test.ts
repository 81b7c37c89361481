import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diagnose } from '#shared/diagnosis/diagnose';
import { startClassifyPool } from '../../cli/classify-pool';
import { classifyStream } from '../../cli/classify-lines';

const chunks = async function* (parts: Buffer[]) {
  for (const part of parts) yield part;
};

describe('classifyStream', () => {
  it('reassembles lines and characters split across chunks, and writes once per chunk', async () => {
    const text = `${JSON.stringify({ id: 'é-1', message: 'Failed to pull image "nginx:ñ": not found' })}\r\n\n${JSON.stringify({ id: 'é-2', message: 'x' })}`;
    const bytes = Buffer.from(text, 'utf8');
    // Cut inside the two-byte "é" of the second id, and after the first line's '\r'.
    const cut = bytes.indexOf(Buffer.from('é-2')) + 1;
    const writes: string[] = [];
    const failed = await classifyStream(chunks([bytes.subarray(0, cut), bytes.subarray(cut)]), (out) => {
      writes.push(Buffer.from(out).toString('utf8'));
      return Promise.resolve();
    });
    expect(failed).toBe(0);
    expect(writes).toHaveLength(2);
    expect(
      writes
        .join('')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).id),
    ).toEqual(['é-1', 'é-2']);
  });

  it('answers in input order when blocks are classified on worker threads', async () => {
    const lines = Array.from({ length: 3000 }, (_, index) =>
      index % 97 === 0
        ? '{broken'
        : JSON.stringify({ id: index, message: `Failed to pull image "app:${index}": not found` }),
    );
    const chunks = Array.from({ length: 30 }, (_, index) =>
      Buffer.from(`${lines.slice(index * 100, index * 100 + 100).join('\n')}\n`),
    );
    const collect = async (parallel?: Parameters<typeof classifyStream>[2]) => {
      let out = '';
      const failed = await classifyStream(
        (async function* () {
          yield* chunks;
        })(),
        (text) => {
          out += Buffer.from(text).toString('utf8');
          return Promise.resolve();
        },
        parallel,
      );
      return { out, failed };
    };
    let started = 0;
    const inline = await collect();
    const threaded = await collect({ start: () => (started++, startClassifyPool(2)), inFlight: 4 });
    expect(started).toBe(1);
    expect(threaded).toEqual(inline);
    expect(inline.failed).toBe(31);
    expect(inline.out.trim().split('\n')).toHaveLength(3000);
  });

  it('writes each verdict byte for byte as JSON.stringify of the id and the verdict', async () => {
    const corpus = readFileSync(join(__dirname, '..', 'fixtures', 'messages', 'corpus.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as { message: string; reason?: string; image?: string });
    // Ids of every JSON kind, with text that JSON escapes or that UTF-8 takes several bytes for.
    const ids = [
      undefined,
      7,
      -0.5,
      'é-“’”-😀',
      'a"b\\c\u0000\u001f',
      '\ud800',
      { k: ['v', null] },
      [],
      null,
      true,
    ];
    const requests = corpus.map(({ message, reason, image }, index) => ({
      id: ids[index % ids.length],
      // A lone surrogate and control characters in the text the verdict quotes back.
      message: index % 7 === 0 ? `${message} \ud83d \u0007 ’` : message,
      reason,
      image,
    }));
    const expected = requests.map(({ id, ...input }) => {
      const verdict = diagnose(input);
      return `${JSON.stringify(id === undefined ? verdict : { id, ...verdict })}\n`;
    });
    const bytes = Buffer.from(requests.map((request) => JSON.stringify(request)).join('\n'));
    const written: Buffer[] = [];
    const failed = await classifyStream(chunks([bytes]), (out) => {
      written.push(Buffer.from(out));
      return Promise.resolve();
    });
    expect(failed).toBe(0);
    expect(Buffer.concat(written).equals(Buffer.from(expected.join('')))).toBe(true);
  });
});
