/**
 * The watchdog against dynalite, a local EventBridge and a local Slack: a silent cluster gets one
 * warning however many ticks and duplicates; when its heartbeats return, one "back" message.
 */
import { PIPELINE_DETAIL_TYPE, type RejectedDetail } from '#shared/incident-events';
import { METRIC } from '../../functions/_common/observability';
import type { StoredMessage } from '../support/fake-slack';
import {
  CHANNELS,
  MINUTE,
  type Pipeline,
  type PipelineOptions,
  T0,
  deliver,
  deliverUntilDone,
  failed,
  heartbeat,
  shuffle,
  startPipeline,
} from './support/pipeline';

jest.setTimeout(30_000);

let pipeline: Pipeline;
const start = async (options: PipelineOptions = {}) => {
  pipeline = await startPipeline(options);
};
afterEach(async () => {
  await pipeline.stop();
});

/** The watchdog's clock: `minutes` after T0. */
const at = (minutes: number) => {
  pipeline.clock.ms = T0 + minutes * MINUTE;
};

const postId = (message: StoredMessage) => message.metadata?.event_payload.post_id;

/** Heartbeats, each delivered three times, shuffled, all at once (a failed record is redelivered). */
const beat = async (...events: Array<ReturnType<typeof heartbeat>>) => {
  await deliverUntilDone(pipeline.heartbeats, shuffle(events.flatMap((event) => [event, event, event])), {
    batchSize: 2,
  });
};

/** Several ticks at once, as a schedule's retries and overlaps could run them. */
const ticks = async (count = 3) => Promise.all(Array.from({ length: count }, () => pipeline.watchdogTick()));

const events = (detailType: string) =>
  pipeline.bus.ofType(detailType).map((event) => event.detail as Record<string, unknown>);

describe('a cluster that goes silent', () => {
  it('gets one warning, however many ticks and duplicates; staying silent changes nothing', async () => {
    await start({ routes: [{ cluster: 'prod-*', channel: CHANNELS.platform }] });
    at(0);
    await beat(heartbeat({ cluster: 'prod-eu', at: 0 }), heartbeat({ cluster: 'staging', at: 0 }));
    expect(await pipeline.watchdogTick()).toEqual({ due: 0, silent: 0, failed: 0 });

    // staging keeps beating; prod-eu falls silent after its heartbeat at 10:00.
    for (let minute = 1; minute <= 9; minute++) {
      at(minute);
      await beat(heartbeat({ cluster: 'staging', at: minute }));
      await ticks(1);
    }
    expect(pipeline.slack.messages).toHaveLength(0);

    for (let minute = 10; minute <= 14; minute++) {
      at(minute);
      await beat(heartbeat({ cluster: 'staging', at: minute }));
      // A late, duplicated copy of prod-eu's last heartbeat does not make it alive.
      await beat(heartbeat({ cluster: 'prod-eu', at: 0 }));
      const results = await ticks();
      expect(results.every((result) => result.failed === 0)).toBe(true);
    }

    const warnings = pipeline.slack.topLevel();
    expect(warnings).toHaveLength(1);
    expect(postId(warnings[0]!)).toBe('silent-1');
    expect(warnings[0]!.channel).toBe(CHANNELS.platform);
    expect(warnings[0]!.text).toBe(
      'Forwarder silent: no heartbeat from prod-eu for more than 10 min; its image pull failures are not being reported.',
    );
    expect(JSON.stringify(warnings[0]!.blocks)).toContain(
      'kubectl -n pullwatch logs deploy/pullwatch-forwarder',
    );
    expect(events(PIPELINE_DETAIL_TYPE.forwarderSilent)).toEqual([
      expect.objectContaining({
        eventId: 'prod-eu@silent-1',
        cluster: 'prod-eu',
        silence: 1,
        silentSince: new Date(T0).toISOString(),
        declaredAt: new Date(T0 + 10 * MINUTE).toISOString(),
        silenceAfterMs: 10 * MINUTE,
      }),
    ]);
    expect(pipeline.metrics.watchdog.get(METRIC.forwardersSilenced)).toBe(1);
    // Every tick from 10:10 on saw it silent: the metric the stack alarms on.
    expect(pipeline.metrics.watchdog.get(METRIC.silentForwarders)).toBe(15);
  });
});

describe('a silent cluster whose heartbeats return', () => {
  it('gets one "back" reply and its warning says so, however the heartbeats are delivered', async () => {
    await start();
    at(0);
    await beat(heartbeat({ at: 0 }));
    at(11);
    await ticks();
    const [warning] = pipeline.slack.topLevel();
    expect(warning).toBeDefined();

    at(20);
    await Promise.all([
      beat(heartbeat({ at: 20 }), heartbeat({ at: 19.5 })),
      beat(heartbeat({ at: 20 })),
      ticks(),
    ]);
    for (let minute = 21; minute <= 25; minute++) {
      at(minute);
      await beat(heartbeat({ at: minute }));
      await ticks();
    }

    expect(pipeline.slack.topLevel()).toHaveLength(1);
    const replies = pipeline.slack.repliesTo(warning!.ts);
    expect(replies.map(postId)).toEqual(['back-1']);
    expect(replies[0]!.text).toMatch(
      /^:white_check_mark: Back: heartbeats from `prod-eu` returned at .*, after 20 min of silence\.$/,
    );
    expect(warning!.text).toBe('Forwarder back: prod-eu sends heartbeats again, after 20 min.');
    expect(JSON.stringify(warning!.blocks)).toContain('Resolved: forwarder silent: prod-eu');
    expect(events(PIPELINE_DETAIL_TYPE.forwarderBack)).toEqual([
      expect.objectContaining({ eventId: 'prod-eu@back-1', silence: 1 }),
    ]);

    // A second silence later is a new warning (one per silence).
    at(40);
    await ticks();
    expect(pipeline.slack.topLevel().map(postId)).toEqual(['silent-1', 'silent-2']);
  });

  it('says nothing when it came back before the warning could be posted (the events still went out)', async () => {
    await start();
    at(0);
    await beat(heartbeat({ at: 0 }));
    at(11);
    pipeline.slack.inject('chat.postMessage', { kind: 'rate-limit', retryAfterSeconds: 60 });
    expect(await pipeline.watchdogTick()).toEqual({ due: 1, silent: 1, failed: 0 });
    expect(pipeline.slack.messages).toHaveLength(0);

    at(12);
    await beat(heartbeat({ at: 12 }));
    at(13);
    await ticks();
    expect(pipeline.slack.messages).toHaveLength(0);
    expect(events(PIPELINE_DETAIL_TYPE.forwarderSilent)).toHaveLength(1);
    expect(events(PIPELINE_DETAIL_TYPE.forwarderBack)).toHaveLength(1);
  });
});

describe('the heartbeat queue', () => {
  it('dead-letters what is not a heartbeat and records the rest of the batch', async () => {
    await start();
    const valid = heartbeat({ at: 0 });
    const broken = heartbeat({ at: 0 });
    (broken.detail as { failingContainers: unknown }).failingContainers = -1;
    expect(await deliver(pipeline.heartbeats, [failed({ at: 0 }), broken, valid])).toEqual([]);
    const rejected = events(PIPELINE_DETAIL_TYPE.rejected) as unknown as RejectedDetail[];
    expect(rejected.map((rejection) => [rejection.stage, rejection.field])).toEqual([
      ['watchdog', 'detail-type'],
      ['watchdog', 'failingContainers'],
    ]);
    expect(pipeline.metrics.watchdog.get(METRIC.heartbeatsRecorded)).toBe(1);
    expect(pipeline.metrics.watchdog.get(METRIC.invalidEvents)).toBe(2);
  });
});
