/**
 * Schema-invalid events: logged with reason and field, counted, dead-lettered on the bus, never
 * retried, and never the cause of losing the rest of their batch.
 */
import { PIPELINE_DETAIL_TYPE, type RejectedDetail } from '#shared/incident-events';
import { METRIC } from '../../functions/_common/observability';
import {
  type Pipeline,
  delivered,
  deliver,
  failed,
  ruleTargetEvent,
  startPipeline,
} from './support/pipeline';

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipeline();
});
afterEach(async () => {
  await pipeline.stop();
});

const rejections = (): RejectedDetail[] =>
  pipeline.bus
    .ofType(PIPELINE_DETAIL_TYPE.rejected)
    .map((event) => event.detail as unknown as RejectedDetail);

describe('classify', () => {
  it('dead-letters the invalid records of a batch and classifies the rest', async () => {
    const valid = failed({ pod: 1, at: 0 });
    const noKind = failed({ pod: 2, at: 0 });
    (noKind.detail.workload as { kind?: string }).kind = undefined;
    const heartbeat = ruleTargetEvent('pullwatch', 'ForwarderHeartbeat', {
      schemaVersion: 1,
      cluster: 'prod-eu',
      observedAt: new Date().toISOString(),
      failingContainers: 0,
      forwarderVersion: '0.1.0',
    });
    const failedRecords = await deliver(pipeline.classify, [
      noKind,
      '{"not json',
      valid,
      heartbeat,
      { source: 'evil' },
    ]);

    expect(failedRecords).toEqual([]);
    expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.classified)).toHaveLength(1);
    expect(rejections().map((r) => [r.stage, r.field])).toEqual([
      ['classify', 'workload.kind'],
      ['classify', '(root)'],
      ['classify', 'detail-type'],
      ['classify', 'source'],
    ]);
    expect(rejections()[0]!.reason).toMatch(/^invalid ImagePullFailed detail: workload.kind: /);
    expect(rejections()[0]!.original).toContain('"pod":"web-7d9c6b5f4-2"');
    expect(pipeline.metrics.classify.get(METRIC.invalidEvents)).toBe(4);
    const warnings = pipeline.logs.classify.at('warn');
    expect(warnings).toHaveLength(4);
    expect(warnings[0]!.extra[0]).toMatchObject({ field: 'workload.kind' });
  });

  it('retries an invalid record only while its rejection cannot be dead-lettered', async () => {
    pipeline.bus.inject({
      kind: 'fail-matching',
      matches: (entry) => entry.DetailType === PIPELINE_DETAIL_TYPE.rejected,
    });
    const invalid = { source: 'pullwatch', 'detail-type': 'ImagePullFailed', detail: {} };
    const valid = failed({ pod: 1, at: 0 });
    expect(await deliver(pipeline.classify, [invalid, valid])).toEqual([invalid]);
    expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.classified)).toHaveLength(1);
    pipeline.bus.clearFaults();
    expect(await deliver(pipeline.classify, [invalid])).toEqual([]);
    expect(rejections()).toHaveLength(1);
  });

  it('retries only the records whose classified event was not published', async () => {
    const events = [failed({ pod: 1, at: 0 }), failed({ pod: 2, at: 0 })];
    pipeline.bus.inject({ kind: 'fail-entries', positions: [1] });
    expect(await deliver(pipeline.classify, events)).toEqual([events[1]]);
  });
});

describe('dedupe and notify', () => {
  it('dead-letter what they cannot read, and handle the rest of the batch', async () => {
    await deliver(pipeline.classify, [failed({ pod: 1, at: 0 })]);
    const classified = delivered(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.classified)[0]!);
    const tampered = { ...classified, detail: { ...classified.detail, verdict: { cause: 'made-up' } } };
    expect(await deliver(pipeline.dedupe, [tampered, classified])).toEqual([]);
    expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.opened)).toHaveLength(1);

    const opened = delivered(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.opened)[0]!);
    const forged = { ...opened, source: 'pullwatch' };
    expect(await deliver(pipeline.notify, [forged, opened])).toEqual([]);
    expect(pipeline.slack.topLevel()).toHaveLength(1);

    expect(rejections().map((r) => [r.stage, r.field])).toEqual([
      ['dedupe', 'verdict.cause'],
      ['notify', 'source'],
    ]);
    expect(pipeline.metrics.dedupe.get(METRIC.invalidEvents)).toBe(1);
    expect(pipeline.metrics.notify.get(METRIC.invalidEvents)).toBe(1);
  });
});
