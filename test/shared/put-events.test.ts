import fc from 'fast-check';
import {
  PUT_EVENTS_MAX_BYTES,
  PUT_EVENTS_MAX_ENTRIES,
  chunkPutEvents,
  fitsInCall,
  putEventsEntrySize,
  utf8Bytes,
} from '#shared/put-events';

describe('PutEvents entry size (EventBridge’s documented calculation)', () => {
  // Every term has a different size, and multi-byte characters, so a term left out or counted as
  // characters instead of UTF-8 bytes changes the total.
  const entry = {
    Source: 'pullwatch.pipeline', // 18
    DetailType: 'IncidentOpened', // 14
    Detail: '{"message":"é😀"}', // 14 ASCII + 2 + 4 = 20
    Resources: ['arn:aws:eks:eu-west-1:123456789012:cluster/prod', 'ünïcode'], // 47 + 9
    Time: new Date('2026-12-02T06:00:00Z'), // 14, whatever the value
    EventBusName: 'a-bus-name-that-does-not-count',
  };

  it('is Time (14) + Source + DetailType + Detail + each Resource, in UTF-8 bytes; EventBusName does not count', () => {
    expect(putEventsEntrySize(entry)).toBe(14 + 18 + 14 + 20 + 47 + 9);
  });

  it.each([
    ['Time', 14],
    ['Source', 18],
    ['DetailType', 14],
    ['Detail', 20],
    ['Resources', 56],
    ['EventBusName', 0],
  ] as const)('without %s the entry is %i bytes smaller', (field, bytes) => {
    const without: Record<string, unknown> = { ...entry };
    delete without[field];
    expect(putEventsEntrySize(entry) - putEventsEntrySize(without)).toBe(bytes);
  });

  it('counts UTF-8 bytes as an encoder writes them', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        expect(utf8Bytes(text)).toBe(Buffer.byteLength(text, 'utf8'));
      }),
    );
    // A lone surrogate is written as U+FFFD.
    expect(utf8Bytes('\ud83d')).toBe(Buffer.byteLength('\ud83d', 'utf8'));
    expect(utf8Bytes('a\udc00b')).toBe(Buffer.byteLength('a\udc00b', 'utf8'));
  });
});

describe('cutting entries into PutEvents calls', () => {
  it('at most 10 entries a call, in order', () => {
    const entries = Array.from({ length: 23 }, (_, index) => index);
    const calls = chunkPutEvents(entries, () => 100);
    expect(calls.map((call) => call.length)).toEqual([10, 10, 3]);
    expect(calls.flat()).toEqual(entries);
  });

  it('each call’s entries total less than 256 KB', () => {
    // Two entries that total exactly the limit do not fit together; one byte less does.
    const half = PUT_EVENTS_MAX_BYTES / 2;
    expect(chunkPutEvents([half, half], (size) => size)).toEqual([[half], [half]]);
    expect(chunkPutEvents([half, half - 1], (size) => size)).toEqual([[half, half - 1]]);
    expect(fitsInCall(PUT_EVENTS_MAX_ENTRIES, 0, 1)).toBe(false);
    expect(fitsInCall(0, 0, PUT_EVENTS_MAX_BYTES)).toBe(false);
    expect(fitsInCall(0, 0, PUT_EVENTS_MAX_BYTES - 1)).toBe(true);
  });

  it('an entry too large for any call goes alone (EventBridge refuses it alone)', () => {
    const huge = PUT_EVENTS_MAX_BYTES + 1;
    expect(chunkPutEvents([1, huge, 2], (size) => size)).toEqual([[1], [huge], [2]]);
  });

  it('never exceeds a limit, and loses nothing', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 120_000 }), { maxLength: 60 }), (sizes) => {
        const calls = chunkPutEvents(sizes, (size) => size);
        expect(calls.flat()).toEqual(sizes);
        for (const call of calls) {
          expect(call.length).toBeLessThanOrEqual(PUT_EVENTS_MAX_ENTRIES);
          expect(call.reduce((sum, size) => sum + size, 0)).toBeLessThan(PUT_EVENTS_MAX_BYTES);
        }
      }),
    );
  });
});
