/**
 * Incidents over time, through the real chain: flapping reopens one incident; a recurrence after
 * the reopen window is a new incident; hostile cluster text arrives in Slack inert.
 */
import { PIPELINE_DETAIL_TYPE } from '#shared/incident-events';
import { METRIC } from '../../functions/_common/observability';
import { MINUTE, type Pipeline, T0, failed, recovered, startPipeline } from './support/pipeline';

jest.setTimeout(30_000);

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipeline();
});
afterEach(async () => {
  await pipeline.stop();
});

const at = (minutes: number) => {
  pipeline.clock.ms = T0 + minutes * MINUTE + 30_000;
};

describe('flapping', () => {
  it('reopens the one incident: one top-level post, resolved and reopened in its thread', async () => {
    at(0);
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    at(1);
    await pipeline.flow([recovered({ pod: 1, at: 1 })]);
    at(4);
    await pipeline.tickAndNotify(); // quiet since 10:01 → resolved at 10:03
    at(10);
    await pipeline.flow([failed({ pod: 1, at: 10, firstSeen: 10 })]);
    at(11);
    await pipeline.flow([recovered({ pod: 1, at: 11, firstSeen: 10 })]);
    at(14);
    await pipeline.tickAndNotify();

    const stored = await pipeline.incidentItems();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ status: 'resolved', reopenCount: 1, generation: 1, occurrences: 2 });
    expect(stored[0]!.incident.resolutions).toBe(2);

    const top = pipeline.slack.topLevel();
    expect(top).toHaveLength(1);
    expect(top[0]!.text).toMatch(/^Resolved: /);
    const thread = pipeline.slack.repliesTo(top[0]!.ts).map((reply) => reply.metadata?.event_payload.post_id);
    expect(thread).toEqual(['resolved-1', 'reopened-1', 'resolved-2']);
    expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.reopened)).toHaveLength(1);
    expect(pipeline.bus.ofType(PIPELINE_DETAIL_TYPE.resolved)).toHaveLength(2);
    expect(pipeline.metrics.dedupe.get(METRIC.incidentsOpened)).toBe(1);
  });

  it('starts a new incident (a new post) when it recurs after the reopen window', async () => {
    at(0);
    await pipeline.flow([failed({ pod: 1, at: 0 })]);
    await pipeline.flow([recovered({ pod: 1, at: 1 })]);
    at(5);
    await pipeline.tickAndNotify();
    at(45);
    await pipeline.flow([failed({ pod: 1, at: 45, firstSeen: 45 })]);

    const stored = (await pipeline.incidentItems()).sort((a, b) => a.generation - b.generation);
    expect(stored.map((item) => [item.incidentId, item.status])).toEqual([
      [stored[0]!.keyId, 'resolved'],
      [`${stored[0]!.keyId}.2`, 'open'],
    ]);
    expect(pipeline.slack.topLevel()).toHaveLength(2);
  });
});

describe('a cause change', () => {
  const RATE_LIMITED =
    'Failed to pull image "nginx:1.27-alpin": toomanyrequests: You have reached your pull rate limit.';

  it.each([
    ['in order', false],
    ['delivered newest first', true],
  ])(
    'is recorded on the incident the container leaves (%s), which then resolves',
    async (_order, reversed) => {
      const before = failed({ pod: 1, at: 0, message: RATE_LIMITED });
      const after = failed({ pod: 1, at: 2 });
      at(2);
      for (const event of reversed ? [after, before] : [before, after]) await pipeline.flow([event]);

      const byCause = Object.fromEntries((await pipeline.incidentItems()).map((item) => [item.cause, item]));
      expect(byCause['rate-limited']).toMatchObject({ failingContainers: 0, status: 'open' });
      expect(byCause['image-not-found']).toMatchObject({ failingContainers: 1, status: 'open' });
      const left = byCause['rate-limited']!;
      const registers = await pipeline.store.containersOf({ keyId: left.keyId, generation: left.generation });
      expect(registers[`uid-web-7d9c6b5f4-1/web`]).toMatchObject({
        state: 'moved',
        movedTo: { cause: 'image-not-found', incidentId: byCause['image-not-found']!.incidentId },
      });

      at(6);
      await pipeline.tickAndNotify();
      const resolved = (await pipeline.incidentItems()).find((item) => item.cause === 'rate-limited');
      expect(resolved?.status).toBe('resolved');
      const posts = pipeline.slack.topLevel();
      expect(posts).toHaveLength(2);
      const rateLimitPost = posts.find((post) => post.text.includes('rate limit'));
      expect(JSON.stringify(rateLimitPost?.blocks)).toContain("*The registry's answer changed*");
      expect(JSON.stringify(rateLimitPost?.blocks)).toContain('now Image tag or digest not found');
    },
  );
});

describe('untrusted text from the cluster', () => {
  it('arrives in Slack inert: no mention, channel link or disguised link survives', async () => {
    const hostile = '<!channel> <!here> <@U024BE7LH> <#C024BE7LH> <https://evil.example|click me> @here `x`';
    await pipeline.flow([
      failed({
        pod: `web-1 ${hostile}`,
        at: 0,
        image: 'nginx:1.27-alpin',
        message: `Failed to pull image "nginx:1.27-alpin": rpc error: code = NotFound desc = ${hostile}: not found`,
        annotations: { 'pullwatch.io/owner': hostile },
      }),
    ]);
    const [post] = pipeline.slack.topLevel();
    expect(post).toBeDefined();
    const payload = JSON.stringify({ text: post!.text, blocks: post!.blocks });
    for (const live of [
      '<!channel>',
      '<!here>',
      '<@U024BE7LH>',
      '<#C024BE7LH>',
      '<https://evil.example|',
      '@here',
    ]) {
      expect(payload).not.toContain(live);
    }
    expect(payload).toContain('&lt;!channel&gt;');
    expect(payload).toContain('&lt;@U024BE7LH&gt;');
    expect(payload).toContain('&lt;https://evil.example|click me&gt;');
    // The only links are the ones pullwatch writes itself: dates and the docs.
    const links = [...payload.matchAll(/<([^>]*)>/g)].map((match) => match[1]!);
    expect(
      links.every((link) => link.startsWith('!date^') || link.startsWith('https://kubernetes.io/')),
    ).toBe(true);
  });
});
