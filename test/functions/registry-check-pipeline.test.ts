/**
 * The registry check in the pipeline: classify → dedupe → notify with the check on, against a real
 * Distribution registry (behind a front that can hold its answers back), a registry that never answers,
 * and a fake ECR reached by the real SDK. Asserts what reached the bus, what landed in the table and
 * what Slack received: the first post never waits for the registry, and the late answer updates it.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { PIPELINE_DETAIL_TYPE, type ClassifiedDetail, type IncidentDetail } from '#shared/incident-events';
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';
import { PipelineRegistryCheck } from '../../functions/_common/registry-check/pipeline-checker';
import { DUMMY_CREDENTIALS, scanAll } from '../support/dynalite';
import { FakeEcr } from '../support/fake-ecr';
import { PagingFront, SilentServer } from './_common/registry-check/support/hostile-registry';
import {
  CONTENT,
  type RegistryLab,
  describeLab,
  labSkipReason,
  startRegistryLab,
} from './_common/registry-check/support/registry-lab';
import {
  type Pipeline,
  MINUTE,
  delivered,
  deliver,
  deliverUntilDone,
  failed,
  shuffle,
  startPipeline,
} from './support/pipeline';

jest.setTimeout(120_000);

const FROM = 'AWS Lambda in account 123456789012 (eu-west-1)';
const ECR_HOST = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';

let lab: RegistryLab;
let front: PagingFront;
let silent: SilentServer;
let ecr: FakeEcr;
let pipeline: Pipeline;

const notFound = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;

const classifiedOn = (p: Pipeline) => p.takeNew([PIPELINE_DETAIL_TYPE.classified]);

const waitFor = async (condition: () => boolean, what: string, ms = 5_000) => {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** dedupe, then notify, for the classified events given; returns the incident events notify got. */
const dedupeAndNotify = async (p: Pipeline, classified: readonly unknown[]) => {
  await deliverUntilDone(p.dedupe, classified);
  const incidentEvents = p.takeNew(['IncidentOpened', 'IncidentUpdated', 'IncidentReopened']);
  await deliverUntilDone(p.notify, incidentEvents.map(delivered));
  return incidentEvents;
};

const sectionTexts = (blocks: unknown[] | undefined): string =>
  (blocks ?? []).map((block) => (block as { text?: { text?: string } }).text?.text ?? '').join('\n');

beforeAll(async () => {
  if (labSkipReason) return;
  lab = await startRegistryLab();
  front = await new PagingFront(lab.plain.origin).start();
  silent = await new SilentServer().start();
  ecr = await new FakeEcr().start();
  ecr.repositories.set(
    'platform/agent',
    new Map(
      ['3.4.0', '3.4.1-rc1', '3.5.0'].map((tag, i) => [
        tag,
        {
          digest: `sha256:${String(i).repeat(64)}`,
          manifest: '{}',
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
        },
      ]),
    ),
  );
  const config = registryCheckConfigSchema.parse({
    enabled: true,
    // Loopback registries over plain HTTP, listed as the config requires; one registry denied.
    privateRegistries: ['127.0.0.1:*'],
    plainHttpRegistries: ['127.0.0.1:*'],
    deniedRegistries: [lab.open.host],
    ecrRepositories: ['arn:aws:ecr:eu-west-1:123456789012:repository/platform/*'],
    timeoutSeconds: 2,
    cacheMinutes: 5,
  });
  pipeline = await startPipeline({
    registryCheck: (clock) =>
      new PipelineRegistryCheck(config, {
        checkedFrom: FROM,
        denyPrivate: true,
        credentials: async () => undefined,
        now: clock.now,
        ecrClient: (region) =>
          new ECRClient({ region, endpoint: ecr.origin, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 }),
      }),
  });
});

afterAll(async () => {
  if (labSkipReason) return;
  await pipeline?.stop();
  await Promise.all([front?.stop(), silent?.stop(), ecr?.stop()]);
  await lab?.stop();
});

describeLab('the registry check after classify', () => {
  it('posts first without waiting for a slow registry, then updates the message with its answer', async () => {
    const image = `${front.host}/${CONTENT.app.repository}:1.0.2`;
    let release!: () => void;
    front.hold = new Promise<void>((resolve) => (release = resolve));
    front.requests.length = 0;
    classifiedOn(pipeline);
    let classifyDone = false;
    const classifying = deliver(pipeline.classify, [
      failed({ at: 0, image, workload: 'slow', message: notFound(image) }),
    ]).then((left) => {
      classifyDone = true;
      return left;
    });

    // The first event is on the bus while the registry still holds its answer.
    await waitFor(
      () => pipeline.bus.events.some((e) => e.detailType === PIPELINE_DETAIL_TYPE.classified),
      'the first event',
    );
    const first = classifiedOn(pipeline);
    expect(first).toHaveLength(1);
    expect((first[0]!.detail as ClassifiedDetail).registryCheck).toBeUndefined();
    await dedupeAndNotify(pipeline, first.map(delivered));
    const posted = pipeline.slack.topLevel().find((message) => message.text.includes('slow'))!;
    expect(posted).toBeDefined();
    expect(sectionTexts(posted.blocks)).not.toContain('Registry check');
    expect(classifyDone).toBe(false);
    expect(front.requests).toEqual(['GET /v2/']);

    release();
    front.hold = undefined;
    expect(await classifying).toEqual([]);
    const followUp = classifiedOn(pipeline);
    expect(followUp).toHaveLength(1);
    const answer = (followUp[0]!.detail as ClassifiedDetail).registryCheck;
    expect(answer).toEqual({
      outcome: 'confirmed',
      summary: `${front.host}/acme/app has no tag 1.0.2; nearest: 1.0.1, 1.0.0, 1.0.2-rc1, 1.1.0, 2.0.0.`,
      suggestedTags: ['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0'],
      public: true,
      checkedFrom: FROM,
      checkedAt: pipeline.clock.now().toISOString(),
    });

    // dedupe keeps it on the incident: an update, and the text item in the table holds it.
    const updates = await dedupeAndNotify(pipeline, followUp.map(delivered));
    expect(updates.map((event) => event.detailType)).toEqual(['IncidentUpdated']);
    expect((updates[0]!.detail as IncidentDetail).registryCheck).toEqual(answer);
    const items = await scanAll(pipeline.dynamo);
    const texts = items.filter(
      (item) => (item.text as { registryCheck?: unknown } | undefined)?.registryCheck !== undefined,
    );
    expect(texts.map((item) => item.text.registryCheck)).toEqual([answer]);

    // The update is throttled like any other; the tick delivers it once the interval has passed.
    expect(posted.edits).toBe(0);
    pipeline.clock.advance(pipeline.windows.updateIntervalMs + MINUTE);
    await pipeline.notifyTick();
    const updated = pipeline.slack.topLevel().find((message) => message.ts === posted.ts)!;
    expect(updated.edits).toBe(1);
    const text = sectionTexts(updated.blocks);
    expect(text).toContain(`*Registry check:* ✔ confirmed from ${FROM} at <!date^`);
    expect(text).toContain(`${front.host}/acme/app has no tag 1.0.2; nearest: 1.0.1, 1.0.0`);
    expect(text).toContain(`kubectl set image deployment/slow web='${front.host}/acme/app:1.0.1'`);
    expect(text).toContain('suggested by the registry check: 1.0.1 is the nearest existing tag');
  });

  it('asks once for a storm of incidents of one image, and every incident keeps the answer', async () => {
    const image = `${front.host}/${CONTENT.app.repository}:9.9.9`;
    front.requests.length = 0;
    classifiedOn(pipeline);
    const events = Array.from({ length: 12 }, (_, i) =>
      failed({ at: 1, image, workload: `storm-${i}`, message: notFound(image) }),
    );
    expect(await deliver(pipeline.classify, events, 10)).toEqual([]);
    expect(front.requests).toEqual([
      'GET /v2/',
      'HEAD /v2/acme/app/manifests/9.9.9',
      'GET /v2/acme/app/tags/list?n=1000',
    ]);
    const classified = classifiedOn(pipeline);
    await dedupeAndNotify(pipeline, classified.map(delivered));
    const keys = await pipeline.incidentItems();
    const storm = keys.filter((head) =>
      String((head.incident as { key: { workload: { name: string } } }).key.workload.name).startsWith(
        'storm-',
      ),
    );
    expect(storm).toHaveLength(12);
    for (const head of storm) {
      const { keyId, generation } = head as unknown as { keyId: string; generation: number };
      const [loaded] = await pipeline.store.loadKey(keyId, []);
      expect({ keyId, generation, outcome: loaded?.incident.latest?.registryCheck?.outcome }).toEqual({
        keyId,
        generation,
        outcome: 'confirmed',
      });
    }

    // A later failure of the same image carries the cached answer on its first event: no follow-up.
    classifiedOn(pipeline);
    await deliver(pipeline.classify, [
      failed({ at: 2, image, workload: 'storm-12', message: notFound(image) }),
    ]);
    const again = classifiedOn(pipeline);
    expect(again).toHaveLength(1);
    expect((again[0]!.detail as ClassifiedDetail).registryCheck?.outcome).toBe('confirmed');
    expect(front.requests).toHaveLength(3);
  });

  it('first events and follow-ups, repeated, shuffled and concurrent: one incident and one post per key, each with the answer', async () => {
    const image = `${front.host}/${CONTENT.app.repository}:7.7.7`;
    classifiedOn(pipeline);
    const workloads = Array.from({ length: 5 }, (_, i) => `shuffled-${i}`);
    await deliver(
      pipeline.classify,
      workloads.map((workload) => failed({ at: 5, image, workload, message: notFound(image) })),
    );
    const classified = classifiedOn(pipeline);
    expect(classified).toHaveLength(10);
    const repeated = shuffle([...classified, ...classified, ...classified].map(delivered), 7);
    await deliverUntilDone(pipeline.dedupe, repeated);
    const incidentEvents = pipeline.takeNew(['IncidentOpened', 'IncidentUpdated']);
    await deliverUntilDone(pipeline.notify, incidentEvents.map(delivered));
    const heads = (await pipeline.incidentItems()).filter((head) =>
      String((head.incident as { key: { workload: { name: string } } }).key.workload.name).startsWith(
        'shuffled-',
      ),
    );
    expect(heads).toHaveLength(5);
    for (const head of heads) {
      const [loaded] = await pipeline.store.loadKey(String(head.keyId), []);
      expect(loaded?.incident.latest?.registryCheck?.outcome).toBe('confirmed');
    }
    for (const workload of workloads) {
      expect(
        // Under the storm's roll-up (the storm test's incidents share this cause and registry).
        pipeline.slack.messages.filter((message) => message.text.includes(`deployment/${workload} (`)),
      ).toHaveLength(1);
    }
  });

  it('a registry that never answers costs the budget, not the first post, and says unreachable', async () => {
    const image = `${silent.host}/acme/app:1.0.2`;
    classifiedOn(pipeline);
    const started = Date.now();
    const classifying = deliver(pipeline.classify, [
      failed({ at: 3, image, workload: 'silent', message: notFound(image) }),
    ]);
    await waitFor(
      () => pipeline.bus.events.some((e) => (e.detail as ClassifiedDetail).observation?.image === image),
      'the first event',
      1_000,
    );
    const firstAfterMs = Date.now() - started;
    await classifying;
    const tookMs = Date.now() - started;
    expect(firstAfterMs).toBeLessThan(1_000);
    expect(tookMs).toBeGreaterThanOrEqual(1_900);
    expect(tookMs).toBeLessThan(3_500);
    const [first, followUp] = classifiedOn(pipeline).map((event) => event.detail as ClassifiedDetail);
    expect(first?.registryCheck).toBeUndefined();
    expect(followUp?.registryCheck).toMatchObject({ outcome: 'unreachable', suggestedTags: [] });
  });

  it('reads listed ECR repositories through the SDK, and asks nothing of unlisted or denied ones', async () => {
    ecr.calls.length = 0;
    classifiedOn(pipeline);
    const listed = `${ECR_HOST}/platform/agent:3.4.1`;
    const unlisted = `${ECR_HOST}/payments/api:1.0`;
    const denied = `${lab.open.host}/acme/app:1.0.2`;
    await deliver(pipeline.classify, [
      failed({ at: 4, image: listed, workload: 'ecr-listed', message: notFound(listed) }),
      failed({ at: 4, image: unlisted, workload: 'ecr-unlisted', message: notFound(unlisted) }),
      failed({ at: 4, image: denied, workload: 'denied', message: notFound(denied) }),
    ]);
    const details = classifiedOn(pipeline).map((event) => event.detail as ClassifiedDetail);
    expect(details.map((detail) => [detail.observation.image, detail.registryCheck?.outcome])).toEqual([
      [listed, undefined],
      [unlisted, undefined],
      [denied, undefined],
      [listed, 'confirmed'],
    ]);
    expect(details[3]!.registryCheck).toMatchObject({
      summary: `${ECR_HOST}/platform/agent has no tag 3.4.1; nearest: 3.4.0, 3.4.1-rc1, 3.5.0.`,
      suggestedTags: ['3.4.0', '3.4.1-rc1', '3.5.0'],
    });
    expect(ecr.calls).toEqual([
      { operation: 'DescribeImages', repositoryName: 'platform/agent', signed: true },
      { operation: 'ListImages', repositoryName: 'platform/agent', signed: true },
    ]);
  });
});
