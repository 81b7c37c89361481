import { ByteOutput } from '../../cli/byte-output';

describe('ByteOutput', () => {
  it('holds the UTF-8 of everything written, however small it starts and whatever the characters', () => {
    const out = new ByteOutput(1);
    const texts = ['a', 'é', '’…', '😀😀😀', '\ud800', 'x'.repeat(3000), '中'.repeat(2000), ''];
    for (let round = 0; round < 3; round++) for (const text of texts) out.write(text);
    out.writeByte(10);
    const expected = Buffer.from(`${texts.join('').repeat(3)}\n`, 'utf8');
    expect(Buffer.from(out.view()).equals(expected)).toBe(true);
  });

  it('says where a text starts, so a byte of it can be replaced', () => {
    const out = new ByteOutput(4);
    out.write('{"id":1');
    out.setByte(out.write('{"cause":"x"}'), 44);
    expect(Buffer.from(out.view()).toString('utf8')).toBe('{"id":1,"cause":"x"}');
  });
});
