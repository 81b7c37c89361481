/**
 * Local mode's pipeline (local/pipeline.ts) with dynalite: as the only writer of its store, dedupe
 * leaves published events in the outbox for the incident's next write to remove, and a flush removes
 * the rest; a process that stops without flushing leaves them to the outbox's crash path.
 */
import { PIPELINE_SOURCE } from '#shared/incident-events';
import { scanAll } from '../support/dynalite';
import { LocalBus } from '../../local/bus';
import { type TestPipeline, T0, startTestPipeline } from './support/local-pipeline';

jest.setTimeout(30_000);

let test: TestPipeline;
beforeEach(async () => {
  test = await startTestPipeline();
});
afterEach(async () => {
  await test.stop();
});

/** Records the ids of the incident events put on `bus` (what other subscribers would receive). */
const spyOnIncidentEvents = (bus: LocalBus): string[] => {
  const ids: string[] = [];
  bus.rule({
    name: 'spy',
    matches: (event) => event.source === PIPELINE_SOURCE && event['detail-type'].startsWith('Incident'),
    handler: (event) => {
      for (const record of event.Records)
        ids.push((JSON.parse(record.body) as { detail: { eventId: string } }).detail.eventId);
      return Promise.resolve();
    },
  });
  return ids;
};

/** The outbox of every incident item: event ids, per incident. */
const outboxes = async (): Promise<string[][]> => {
  const Items = await scanAll(test.dynamo);
  return Items.filter((item) => String(item.sk).startsWith('GEN#')).map((item) =>
    Object.keys((item.outbox as Record<string, unknown> | undefined) ?? {}).sort(),
  );
};

describe('the outbox in local mode', () => {
  it('loses each published event at the incident’s next write, and the rest at the flush', async () => {
    const published = spyOnIncidentEvents(test.bus);
    for (let pod = 0; pod < 4; pod++) await test.failed({ pod: `web-${pod}`, at: T0 + pod * 1000 });
    // Four changes (opened, then three updates), each published once; only the last one's event is
    // still in the outbox: each write removed the one before.
    expect(published).toEqual([
      expect.stringMatching(/@1:opened$/),
      ...[2, 3, 4].map((version) => expect.stringMatching(new RegExp(`@${version}:updated$`))),
    ]);
    const [outbox] = await outboxes();
    expect(outbox).toEqual([expect.stringMatching(/@4:updated$/)]);

    await test.pipeline.drain();
    expect(await outboxes()).toEqual([[]]);
    expect(published).toHaveLength(4);
  });

  it('leaves what a stopped process did not remove to the crash path: published again after the grace', async () => {
    await test.failed({ pod: 'web-0', at: T0 });
    await test.failed({ pod: 'web-1', at: T0 + 1000 });
    expect(await outboxes()).toEqual([[expect.stringMatching(/@2:updated$/)]]);

    // Another process on the same store (the first stopped without flushing), 30 s later.
    const later = await startTestPipeline({}, { dynamo: test.dynamo });
    const published = spyOnIncidentEvents(later.bus);
    await later.failed({ pod: 'web-2', at: T0 + 31_000 });
    await later.pipeline.drain();
    await later.stop();

    // The abandoned event is published again (consumers drop it by id), and nothing stays behind.
    expect(published.filter((id) => id.endsWith('@2:updated'))).toHaveLength(1);
    expect(published.filter((id) => id.endsWith('@3:updated'))).toHaveLength(1);
    expect(await outboxes()).toEqual([[]]);
  });
});
