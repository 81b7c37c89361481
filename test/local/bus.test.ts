/**
 * The local bus: routes with the pattern objects of shared/, hands records to each handler in order,
 * in SQS-shaped batches, retries failures (head of line, with back-off), dead-letters after the
 * receive count, and knows when everything cascading between queues is done.
 */
import type { SQSEvent } from 'aws-lambda';
import { DETAIL_TYPE, SOURCE, heartbeatPattern, pullEventsPattern } from '#shared/contract';
import {
  PIPELINE_DETAIL_TYPE,
  PIPELINE_SOURCE,
  actionRequestedPattern,
  classifiedPattern,
  incidentEventsPattern,
  rejectedPattern,
} from '#shared/incident-events';
import { type DeadLetter, LocalBus } from '../../local/bus';
import { LOCAL_RULES, forwarderPublisher } from '../../local/pipeline';

const bodies = (event: SQSEvent) =>
  event.Records.map((record) => JSON.parse(record.body) as { detail: { n: number } });

describe('local rules', () => {
  it('are the pattern objects the stack uses, one per target', () => {
    expect(Object.fromEntries(LOCAL_RULES.map((rule) => [rule.target, rule.pattern]))).toEqual({
      classify: pullEventsPattern,
      dedupe: classifiedPattern,
      notify: incidentEventsPattern,
      'dead-letter': rejectedPattern,
      watchdog: heartbeatPattern,
      interactions: actionRequestedPattern,
      status: heartbeatPattern,
    });
    for (const rule of LOCAL_RULES) {
      expect([
        pullEventsPattern,
        classifiedPattern,
        incidentEventsPattern,
        rejectedPattern,
        heartbeatPattern,
        actionRequestedPattern,
      ]).toContain(rule.pattern);
    }
  });

  it.each([
    [SOURCE, DETAIL_TYPE.failed, ['classify']],
    [SOURCE, DETAIL_TYPE.recovered, ['classify']],
    [SOURCE, DETAIL_TYPE.heartbeat, ['watchdog', 'status']],
    [PIPELINE_SOURCE, PIPELINE_DETAIL_TYPE.classified, ['dedupe']],
    [PIPELINE_SOURCE, PIPELINE_DETAIL_TYPE.opened, ['notify']],
    [PIPELINE_SOURCE, PIPELINE_DETAIL_TYPE.resolved, ['notify']],
    [PIPELINE_SOURCE, PIPELINE_DETAIL_TYPE.rejected, ['dead-letter']],
    [PIPELINE_SOURCE, PIPELINE_DETAIL_TYPE.actionRequested, ['interactions']],
    // A cluster cannot forge pipeline events: the forwarder's source never reaches dedupe or notify.
    [SOURCE, PIPELINE_DETAIL_TYPE.opened, []],
    [PIPELINE_SOURCE, DETAIL_TYPE.failed, []],
  ])('%s %s goes to %j', (source, detailType, targets) => {
    expect(
      LOCAL_RULES.filter((rule) => rule.matches({ source, 'detail-type': detailType })).map(
        (rule) => rule.target,
      ),
    ).toEqual(targets);
  });
});

describe('LocalBus', () => {
  let bus: LocalBus;
  afterEach(async () => {
    await bus.stop();
  });

  it('delivers in order, in SQS batches of at most the batch size, as EventBridge events', async () => {
    bus = new LocalBus();
    const seen: SQSEvent[] = [];
    bus.rule({
      name: 'a',
      matches: (event) => event.source === 'x',
      handler: async (event) => {
        seen.push(event);
        await new Promise((resolve) => setTimeout(resolve, 5));
      },
      batchSize: 3,
    });
    bus.put(Array.from({ length: 7 }, (_, n) => ({ source: 'x', detailType: 'T', detail: { n } })));
    bus.put([{ source: 'y', detailType: 'T', detail: { n: 99 } }]);
    await bus.idle();
    expect(seen.map((event) => bodies(event).map((body) => body.detail.n))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6],
    ]);
    const [first] = bodies(seen[0]!) as unknown as Array<Record<string, unknown>>;
    expect(first).toMatchObject({
      version: '0',
      source: 'x',
      'detail-type': 'T',
      region: 'local',
      resources: [],
    });
    expect(seen[0]!.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(bus.unmatched).toBe(1);
  });

  it('retries a failed record after its back-off, not holding back others, and dead-letters it after maxReceiveCount', async () => {
    const dead: DeadLetter[] = [];
    bus = new LocalBus({
      retryBaseMs: 1,
      retryMaxMs: 4,
      maxReceiveCount: 3,
      onDeadLetter: (letter) => dead.push(letter),
    });
    const order: string[] = [];
    bus.rule({
      name: 'flaky',
      matches: () => true,
      handler: async (event) => {
        const failures = event.Records.filter((record) => {
          const { n } = (JSON.parse(record.body) as { detail: { n: number } }).detail;
          order.push(`${n}#${record.attributes.ApproximateReceiveCount}`);
          return n === 1 || (n === 2 && record.attributes.ApproximateReceiveCount === '1');
        });
        return { batchItemFailures: failures.map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    bus.put([0, 1, 2, 3].map((n) => ({ source: 's', detailType: 'T', detail: { n } })));
    await bus.idle();
    expect(order).toEqual(['0#1', '1#1', '2#1', '3#1', '1#2', '2#2', '1#3']);
    expect(dead).toEqual([
      expect.objectContaining({ target: 'flaky', attempts: 3, reason: 'reported as failed' }),
    ]);
    expect((dead[0]!.event.detail as { n: number }).n).toBe(1);
  });

  it('retries every record of a batch whose handler threw', async () => {
    bus = new LocalBus({ retryBaseMs: 1 });
    let calls = 0;
    const handled: number[][] = [];
    bus.rule({
      name: 'throws-once',
      matches: () => true,
      handler: async (event) => {
        if (calls++ === 0) throw new Error('transient');
        handled.push(bodies(event).map((body) => body.detail.n));
      },
    });
    bus.put([{ source: 's', detailType: 'T', detail: { n: 1 } }]);
    await bus.idle();
    expect(calls).toBe(2);
    expect(handled).toEqual([[1]]);
  });

  it('is idle only when work cascading from one queue to the next is done', async () => {
    bus = new LocalBus();
    const finished: string[] = [];
    bus.rule({
      name: 'first',
      matches: (event) => event['detail-type'] === 'A',
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        bus.put([{ source: 's', detailType: 'B', detail: {} }]);
      },
    });
    bus.rule({
      name: 'second',
      matches: (event) => event['detail-type'] === 'B',
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        finished.push('B');
      },
    });
    bus.put([{ source: 's', detailType: 'A', detail: {} }]);
    await bus.idle();
    expect(finished).toEqual(['B']);
  });

  it('runs schedules without overlap, and stops them and drains the queues on stop', async () => {
    bus = new LocalBus();
    let running = 0;
    let overlapped = false;
    let ticks = 0;
    bus.schedule('tick', 5, async () => {
      running++;
      overlapped ||= running > 1;
      await new Promise((resolve) => setTimeout(resolve, 15));
      ticks++;
      running--;
    });
    const handled: number[] = [];
    bus.rule({
      name: 'q',
      matches: () => true,
      handler: async (event) => void handled.push(bodies(event).length),
    });
    await new Promise((resolve) => setTimeout(resolve, 60));
    bus.put([{ source: 's', detailType: 'T', detail: { n: 1 } }]);
    const { undelivered } = await bus.stop(Date.now() + 1000);
    const after = ticks;
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(undelivered).toBe(0);
    expect(handled).toEqual([1]);
    expect(overlapped).toBe(false);
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(ticks).toBe(after);
  });
});

describe('what is durable', () => {
  let bus: LocalBus;
  afterEach(async () => {
    await bus.stop();
  });

  it('says when a target has handled everything queued so far, and false if it stops first', async () => {
    bus = new LocalBus({ retryBaseMs: 5, maxReceiveCount: 1000 });
    const handled: number[] = [];
    let failOnce = true;
    bus.rule({
      name: 'slow',
      matches: () => true,
      handler: async (event) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        // The first batch fails once; record 3 always (it never leaves the queue).
        if (failOnce || bodies(event).some((body) => body.detail.n === 3)) {
          failOnce = false;
          throw new Error('transient');
        }
        for (const body of bodies(event)) handled.push(body.detail.n);
      },
    });
    bus.put([{ source: 's', detailType: 'T', detail: { n: 1 } }]);
    bus.put([{ source: 's', detailType: 'T', detail: { n: 2 } }]);
    expect(bus.oldestUnhandled('slow')).toBeDefined();
    // Through the retry: true only once both records left the queue.
    expect(await bus.handled('slow')).toBe(true);
    expect(handled.sort()).toEqual([1, 2]);
    expect(bus.oldestUnhandled('slow')).toBeUndefined();

    bus.put([{ source: 's', detailType: 'T', detail: { n: 3 } }]);
    const waiting = bus.handled('slow');
    await bus.stop();
    expect(await waiting).toBe(false);
  });

  it('answers the forwarder only once dedupe has handled what classify made of its events', async () => {
    bus = new LocalBus();
    const order: string[] = [];
    bus.rule({
      name: 'classify',
      matches: (event) => event.source === SOURCE,
      handler: async () => {
        order.push('classify');
        bus.put([{ source: PIPELINE_SOURCE, detailType: PIPELINE_DETAIL_TYPE.classified, detail: {} }]);
      },
    });
    bus.rule({
      name: 'dedupe',
      matches: (event) => event['detail-type'] === PIPELINE_DETAIL_TYPE.classified,
      handler: async () => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push('dedupe stored');
      },
    });
    const entry = {
      Source: SOURCE,
      DetailType: DETAIL_TYPE.failed,
      Detail: '{}',
      EventBusName: 'pullwatch-local',
      Time: new Date(),
    };
    await forwarderPublisher(bus, { durable: true }).putEvents([entry]);
    order.push('acknowledged');
    expect(order).toEqual(['classify', 'dedupe stored', 'acknowledged']);
  });
});
