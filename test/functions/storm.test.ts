/**
 * Storms through the real chain (dynalite, local EventBridge, local Slack): many new incidents with
 * one cause, registry and cluster become ONE roll-up with the incidents threaded under it, whatever
 * the delivery does; a lone incident is only held briefly; a storm that goes on keeps its roll-up.
 */
import { INCIDENT_DETAIL_TYPES, PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import type { StormRef } from '#shared/incident-storm';
import type { PostOwnerRef, PostStore } from '../../functions/_common/incident-store';
import { METRIC } from '../../functions/_common/observability';
import type { StoredMessage } from '../support/fake-slack';
import {
  CHANNELS,
  MINUTE,
  type Pipeline,
  type PipelineOptions,
  delivered,
  deliverUntilDone,
  failed,
  recovered,
  shuffle,
  startPipeline,
} from './support/pipeline';

jest.setTimeout(60_000);

const HOLD = 30_000;
const IMAGE = 'nginx:1.27';
const RATE_LIMITED = `Failed to pull image "${IMAGE}": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/${IMAGE}": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:0a1b: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit`;

let pipeline: Pipeline;
const start = async (options: PipelineOptions = {}) => {
  pipeline = await startPipeline({ ...options, windows: { stormHoldMs: HOLD, ...options.windows } });
};
afterEach(async () => {
  await pipeline.stop();
});

/** A workload of the storm: its pods fail with Docker Hub's rate limit. */
const rateLimited = (workload: number, options: { pods?: number; at?: number } = {}) =>
  Array.from({ length: options.pods ?? 1 + (workload % 2) }, (_, pod) =>
    failed({
      namespace: ['shop', 'payments', 'search'][workload % 3]!,
      workload: `svc-${String(workload).padStart(2, '0')}`,
      container: 'app',
      pod,
      image: IMAGE,
      message: RATE_LIMITED,
      at: options.at ?? 0,
    }),
  );

const postId = (message: StoredMessage) => message.metadata?.event_payload.post_id;
const subject = (message: StoredMessage) => message.metadata?.event_payload.incident_id;

/** Runs notify's tick until nothing is due (held posts and claims in progress come back next tick). */
const tickUntilSettled = async () => {
  for (let round = 0; round < 10; round++) {
    const results = await Promise.all([pipeline.notifyTick(), pipeline.notifyTick()]);
    if (results.every((result) => result.due === 0)) return round;
  }
  throw new Error('notify tick never settled');
};

/** Every forwarder event twice, shuffled, concurrently through classify → dedupe → notify (twice). */
const stormDelivery = async (events: readonly unknown[], seed: number) => {
  const deliveries = shuffle(
    events.flatMap((event) => [event, event]),
    seed,
  );
  pipeline.takeNew([]);
  await deliverUntilDone(pipeline.classify, deliveries, { batchSize: 10 });
  const classified = shuffle(pipeline.takeNew([PIPELINE_DETAIL_TYPE.classified]).map(delivered), seed + 1);
  await deliverUntilDone(pipeline.dedupe, classified, { batchSize: 10 });
  const incidentEvents = pipeline.takeNew(INCIDENT_DETAIL_TYPES).map(delivered);
  await deliverUntilDone(pipeline.notify, shuffle([...incidentEvents, ...incidentEvents], seed + 2), {
    batchSize: 1,
    between: () => pipeline.clock.advance(1000),
  });
  return incidentEvents;
};

describe('a storm of 30 workloads with one cause', () => {
  it('makes exactly one roll-up and no top-level post for its members, however it is delivered', async () => {
    await start();
    const events = Array.from({ length: 30 }, (_, workload) => rateLimited(workload)).flat();
    const incidentEvents = await stormDelivery(events, 11);

    // Within the hold nothing is posted: the storm is still forming.
    expect(await pipeline.incidentItems()).toHaveLength(30);
    expect(pipeline.slack.succeeded('chat.postMessage')).toHaveLength(0);
    expect(pipeline.metrics.notify.get(METRIC.postsHeld)).toBeGreaterThanOrEqual(30);

    // The hold ends: ticks (two at a time) and late duplicates of the events, all at once.
    pipeline.clock.advance(HOLD);
    await Promise.all([
      tickUntilSettled(),
      deliverUntilDone(pipeline.notify, shuffle(incidentEvents, 5), {
        batchSize: 1,
        between: () => pipeline.clock.advance(1000),
      }),
    ]);
    await tickUntilSettled();

    const top = pipeline.slack.topLevel();
    expect(top).toHaveLength(1);
    const [rollup] = top;
    expect(postId(rollup!)).toBe('rollup');
    expect(rollup!.channel).toBe(CHANNELS.alerts);
    expect(rollup!.text).toMatch(
      /^Storm: Registry rate limit reached \(Docker Hub\): 30 workloads in prod-eu \[sg-[0-9a-z]{12}\.1\]$/,
    );
    const blocks = JSON.stringify(rollup!.blocks);
    expect(blocks).toContain('30 new incidents with the same cause');
    expect(blocks).toContain('`deployment/svc-00`');
    expect(blocks).toContain('`deployment/svc-29`');

    const members = pipeline.slack.repliesTo(rollup!.ts);
    expect(members).toHaveLength(30);
    expect(members.every((reply) => postId(reply) === 'main')).toBe(true);
    expect(new Set(members.map(subject)).size).toBe(30);
    expect(members[0]!.text).toContain('Registry rate limit reached');
    expect(pipeline.slack.succeeded('chat.postMessage')).toHaveLength(31);
    expect(pipeline.metrics.notify.get(METRIC.stormsDetected)).toBe(1);

    // Every incident knows its storm.
    const storms = (await pipeline.incidentItems()).map(
      (item) => `${item.storm?.groupId}.${item.storm?.seq}`,
    );
    expect(new Set(storms)).toEqual(new Set([/\[(sg-[0-9a-z]{12}\.1)\]$/.exec(rollup!.text)![1]]));
  });
});

describe('a storm that goes on, then ends', () => {
  it('threads later incidents at once, keeps the roll-up up to date, and turns it resolved', async () => {
    await start();
    await pipeline.flow(
      Array.from({ length: 6 }, (_, workload) => rateLimited(workload, { pods: 1 })).flat(),
    );
    pipeline.clock.advance(HOLD);
    await tickUntilSettled();
    const [rollup] = pipeline.slack.topLevel();
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(rollup!.text).toContain('6 workloads in prod-eu');
    expect(pipeline.slack.repliesTo(rollup!.ts)).toHaveLength(6);

    // A minute later two more workloads fail: no hold (the storm is known), threaded at once; the
    // roll-up's update waits for the update interval.
    pipeline.clock.advance(MINUTE);
    await pipeline.flow([6, 7].flatMap((workload) => rateLimited(workload, { pods: 1, at: 1 })));
    expect(pipeline.slack.topLevel()).toHaveLength(1);
    expect(pipeline.slack.repliesTo(rollup!.ts)).toHaveLength(8);
    expect(rollup!.text).toContain('6 workloads');
    pipeline.clock.advance(5 * MINUTE);
    await tickUntilSettled();
    expect(rollup!.text).toContain('8 workloads in prod-eu');
    expect(JSON.stringify(rollup!.blocks)).toContain('8 new incidents with the same cause');

    // Everything recovers: each member resolves (its reply, naming it, in the roll-up's thread), and
    // the roll-up turns resolved at once.
    await pipeline.flow(
      Array.from({ length: 8 }, (_, workload) =>
        recovered({
          namespace: ['shop', 'payments', 'search'][workload % 3]!,
          workload: `svc-${String(workload).padStart(2, '0')}`,
          container: 'app',
          pod: 0,
          image: IMAGE,
          message: RATE_LIMITED,
          at: 7,
          firstSeen: workload < 6 ? 0 : 1,
        }),
      ),
    );
    pipeline.clock.advance(3 * MINUTE);
    await pipeline.tickAndNotify();
    await tickUntilSettled();
    expect(rollup!.text).toMatch(/^Resolved storm: Registry rate limit reached \(Docker Hub\): 8 workloads/);
    expect(JSON.stringify(rollup!.blocks)).toContain('*Over*: all 8 incidents of this storm');
    const replies = pipeline.slack.repliesTo(rollup!.ts);
    const resolutions = replies.filter((reply) => postId(reply) === 'resolved-1');
    expect(resolutions).toHaveLength(8);
    expect(resolutions.map((reply) => reply.text)).toContainEqual(
      expect.stringMatching(
        /^`shop` `deployment\/svc-00` \(container `app`\): :white_check_mark: Resolved after/,
      ),
    );
    expect(pipeline.slack.topLevel()).toHaveLength(1);
  });
});

describe('no storm', () => {
  it('holds a lone incident’s first post only until the hold ends, then posts it at the top level', async () => {
    await start();
    await pipeline.flow(rateLimited(0));
    expect(pipeline.slack.succeeded('chat.postMessage')).toHaveLength(0);
    // The sweep finds its first post owed, and held: the debt stays until it is posted.
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 1, failed: 0 });
    pipeline.clock.advance(HOLD);
    // Posted by the sweep (the hold's timer, due too, is not reconciled a second time), then settled.
    expect(await pipeline.notifyTick()).toEqual({ due: 1, owed: 1, failed: 0 });
    expect(await pipeline.notifyTick()).toEqual({ due: 0, owed: 0, failed: 0 });
    const top = pipeline.slack.topLevel();
    expect(top.map(postId)).toEqual(['main']);
    expect(top[0]!.text).toContain('Registry rate limit reached');
  });

  it('posts each at the top level below the threshold, and never mixes channels or causes', async () => {
    await start({ routes: [{ namespace: 'search', channel: CHANNELS.platform }] });
    // Four in #alerts (shop, payments), one routed to the platform channel (search), one other cause.
    await pipeline.flow([
      ...[0, 1, 3, 4, 2].flatMap((workload) => rateLimited(workload, { pods: 1 })),
      failed({ workload: 'web', pod: 1, at: 0 }),
    ]);
    pipeline.clock.advance(HOLD);
    await tickUntilSettled();
    const top = pipeline.slack.topLevel();
    expect(top).toHaveLength(6);
    expect(top.every((message) => postId(message) === 'main')).toBe(true);
    expect(top.filter((message) => message.channel === CHANNELS.platform)).toHaveLength(1);
    expect(pipeline.metrics.notify.get(METRIC.stormsDetected)).toBe(0);
  });
});

describe('a slow storm', () => {
  it('posts the incidents whose hold ended before the threshold at the top level, then one roll-up', async () => {
    await start();
    await pipeline.flow([0, 1, 2].flatMap((workload) => rateLimited(workload, { pods: 1 })));
    pipeline.clock.advance(HOLD);
    await tickUntilSettled();
    expect(pipeline.slack.topLevel()).toHaveLength(3);

    // Within the storm window, two more: the fourth is held (its own hold); the fifth makes it a
    // storm, whose decision time has passed: the roll-up now, the fifth under it at once.
    pipeline.clock.advance(MINUTE);
    await pipeline.flow([rateLimited(3, { pods: 1, at: 1 })[0]!]);
    pipeline.clock.advance(10_000);
    await pipeline.flow([rateLimited(4, { pods: 1, at: 1 })[0]!]);
    const top = pipeline.slack.topLevel();
    expect(top.map(postId)).toEqual(['main', 'main', 'main', 'rollup']);
    const rollup = top[3]!;
    expect(rollup.text).toContain('5 workloads in prod-eu');
    expect(pipeline.slack.repliesTo(rollup.ts).map(postId)).toEqual(['main']);

    // The fourth's hold ends: under the roll-up too.
    pipeline.clock.advance(HOLD);
    await tickUntilSettled();
    expect(pipeline.slack.repliesTo(rollup.ts).map(postId)).toEqual(['main', 'main']);
    expect(pipeline.slack.topLevel()).toHaveLength(4);
  });
});

describe('a bucket that becomes a storm late', () => {
  it('leaves its members alone until then, and then shows each as it is now, not as it joined', async () => {
    await start({ windows: { stormWindowMs: 10 * MINUTE } });
    await pipeline.flow([0, 1, 2].flatMap((workload) => rateLimited(workload, { pods: 1 })));
    pipeline.clock.advance(HOLD);
    await tickUntilSettled();
    expect(pipeline.slack.topLevel()).toHaveLength(3);

    // Before the storm: workload 0 recovers and resolves; the 2nd gets a second failing pod. No
    // storm yet, so none of it touches the bucket.
    await pipeline.flow([
      recovered({
        namespace: 'shop',
        workload: 'svc-00',
        container: 'app',
        pod: 0,
        image: IMAGE,
        message: RATE_LIMITED,
        at: 0.75,
      }),
      ...rateLimited(1, { pods: 2, at: 0.75 }),
    ]);
    pipeline.clock.advance(3 * MINUTE);
    await pipeline.tickAndNotify();
    expect(pipeline.slack.topLevel().find((post) => post.text.includes('svc-00'))!.text).toMatch(/^Resolved/);
    const [first] = await pipeline.incidentItems();
    const bucketRef = first!.storm as StormRef;
    const before = await pipeline.store.storms.getStorm(bucketRef);
    expect(Object.values(before!.bucket.members).map((member) => member.status)).toEqual([
      'open',
      'open',
      'open',
    ]);
    expect(before!.bucket.version).toBe(3);

    // Two more within the storm window: the roll-up counts what each member is now.
    await pipeline.flow([3, 4].flatMap((workload) => rateLimited(workload, { pods: 1, at: 1 })));
    pipeline.clock.advance(HOLD);
    await tickUntilSettled();
    const rollup = pipeline.slack.topLevel().find((message) => postId(message) === 'rollup');
    expect(rollup).toBeDefined();
    expect((await pipeline.store.storms.getStorm(bucketRef))!.activated).toBe(true);
    const shown = JSON.stringify(rollup!.blocks);
    expect(shown).toContain('4 failing, 1 resolved');
    expect(shown).toMatch(/white_check_mark: `shop` `deployment\/svc-00`/);
    expect(shown).toMatch(/`deployment\/svc-01` \(container `app`\): 2 pods/);
  });
});

describe('a bucket’s head', () => {
  it('is the bucket without its member list, with the asking member’s entry only', async () => {
    await start();
    await pipeline.flow([0, 1, 2, 3].flatMap((workload) => rateLimited(workload, { pods: 1 })));
    const [item] = await pipeline.incidentItems();
    const ref = item!.storm as StormRef;
    const full = (await pipeline.store.storms.getStorm(ref))!;
    const { members, ...head } = full.bucket;
    expect(Object.keys(members)).toHaveLength(4);

    // Every member (the last joiner's entry is in the head, the others in their rows).
    for (const id of Object.keys(members)) {
      const read = await pipeline.store.storms.getStormHead(ref, id);
      expect(read).toMatchObject({ head, member: members[id], activated: false });
      expect(read).not.toHaveProperty('head.members');
      expect(await pipeline.store.storms.latestStormHeads(ref.groupId, 2, id)).toEqual([read]);
    }
    const stranger = await pipeline.store.storms.getStormHead(ref, 'pw-notamember');
    expect(stranger).toMatchObject({ head, activated: false });
    expect(stranger).not.toHaveProperty('member');
  });
});

describe('a crash between the roll-up post and the store write', () => {
  it('is followed by a retry that adopts the roll-up instead of posting a second one', async () => {
    let crashed = false;
    const crashOnRollup = (posts: PostStore<PostOwnerRef>): PostStore<PostOwnerRef> =>
      Object.assign(Object.create(posts) as PostStore<PostOwnerRef>, {
        completePost: async (...args: Parameters<PostStore<PostOwnerRef>['completePost']>) => {
          if (!crashed && args[1] === 'rollup') {
            crashed = true;
            throw new Error('simulated crash after chat.postMessage, before the ts was stored');
          }
          return posts.completePost(...args);
        },
      });
    await start({ notifyPosts: crashOnRollup, leaseMs: 90_000 });
    await pipeline.flow(
      Array.from({ length: 5 }, (_, workload) => rateLimited(workload, { pods: 1 })).flat(),
    );
    pipeline.clock.advance(HOLD);
    expect((await pipeline.notifyTick()).failed).toBeGreaterThan(0);
    expect(pipeline.slack.topLevel()).toHaveLength(1);

    // Within the lease the claim holds everyone off; after it, the roll-up is found and adopted.
    expect((await pipeline.notifyTick()).failed).toBe(5);
    pipeline.clock.advance(90_000);
    await tickUntilSettled();
    expect(
      pipeline.slack.succeeded('chat.postMessage').filter((call) => call.args.thread_ts === undefined),
    ).toHaveLength(1);
    const [rollup] = pipeline.slack.topLevel();
    expect(pipeline.slack.repliesTo(rollup!.ts)).toHaveLength(5);
    expect(pipeline.metrics.notify.get(METRIC.slackPostsRecovered)).toBe(1);
  });
});
