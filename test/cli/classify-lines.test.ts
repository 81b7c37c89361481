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
      writes.push(out);
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
});
