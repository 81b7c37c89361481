/**
 * History queries against incidents the real handlers wrote (local bus → classify → dedupe →
 * notify, dynalite): filters, index choice, generations, stats; and never a Scan.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CAUSE_IDS } from '#shared/diagnosis/causes';
import {
  HistoryInputError,
  IncidentQueries,
  parseIncidentFilter,
  parseStatsFilter,
  planQuery,
} from '../../../functions/history/queries';
import { TEXTS, imageFacts } from '../../fixtures/recordings/scenarios';
import {
  DAY,
  HOUR,
  MINUTE,
  T0,
  type TestPipeline,
  startTestPipeline,
} from '../../local/support/local-pipeline';

jest.setTimeout(30_000);

const RATE_LIMITED = (image: string) => TEXTS.rateLimited(imageFacts(image));
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/batch/worker:3.2.0';
const ECR_AUTH = `Failed to pull image "${ECR}": rpc error: code = Unknown desc = Error response from daemon: Get https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/batch/worker/manifests/3.2.0: no basic auth credentials`;

let world: TestPipeline;
let now: number;
const commands: string[] = [];

/** Records every command a client sends. */
const recorded = (client: DynamoDBClient): DynamoDBClient => {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return client;
};

const queries = () =>
  new IncidentQueries(recorded(world.dynamo.newClient()), {
    tableName: world.dynamo.tableName,
    now: () => now,
  });

beforeAll(async () => {
  world = await startTestPipeline({ quietPeriodMs: 2 * MINUTE, reopenWindowMs: 30 * MINUTE });
  const start = T0 - 10 * DAY;
  // prod-eu shop/web: a typo 10 days ago, fixed after 4 minutes…
  await world.failed({ at: start, pod: 'web-a' });
  await world.recovered({ at: start + 4 * MINUTE, pod: 'web-a', recovery: 'pod-deleted' });
  await world.tickAt(start + 10 * MINUTE);
  // …and again yesterday (a new generation: long after the reopen window), two pods, 6 minutes.
  const yesterday = T0 - DAY;
  await world.failed({ at: yesterday, pod: 'web-b' });
  await world.failed({ at: yesterday + MINUTE, pod: 'web-c' });
  await world.recovered({ at: yesterday + 6 * MINUTE, pod: 'web-b' });
  await world.recovered({ at: yesterday + 6 * MINUTE, pod: 'web-c' });
  await world.tickAt(yesterday + 10 * MINUTE);
  // prod-eu batch/worker: ECR credentials, 20 minutes.
  await world.failed({
    at: T0 - 3 * HOUR,
    namespace: 'batch',
    workload: 'worker',
    image: ECR,
    message: ECR_AUTH,
  });
  await world.recovered({
    at: T0 - 3 * HOUR + 20 * MINUTE,
    namespace: 'batch',
    workload: 'worker',
    image: ECR,
    message: ECR_AUTH,
  });
  await world.tickAt(T0 - 2 * HOUR);
  // Docker Hub rate limits, still open: prod-eu shop/api and prod-us shop/web.
  await world.failed({
    at: T0 - HOUR,
    workload: 'api',
    image: 'node:20-alpine',
    message: RATE_LIMITED('node:20-alpine'),
  });
  await world.failed({
    at: T0 - 30 * MINUTE,
    cluster: 'prod-us',
    image: 'nginx:1.27',
    message: RATE_LIMITED('nginx:1.27'),
  });
  now = T0;
});
afterAll(async () => {
  await world.stop();
});
beforeEach(() => {
  commands.length = 0;
});

const where = (list: {
  incidents: Array<{ cluster: string; namespace: string; workload: string; status: string }>;
}) =>
  list.incidents.map(
    (incident) => `${incident.cluster}/${incident.namespace}/${incident.workload} ${incident.status}`,
  );

describe('incident lists', () => {
  it('lists the last 7 days newest first, across all causes, without scanning', async () => {
    const list = await queries().list(parseIncidentFilter({}, now));
    expect(where(list)).toEqual([
      'prod-us/shop/deployment/web open',
      'prod-eu/shop/deployment/api open',
      'prod-eu/batch/deployment/worker resolved',
      'prod-eu/shop/deployment/web resolved',
    ]);
    expect(list.plan).toEqual({
      index: 'byCause',
      partitions: expect.arrayContaining(['CAUSE#rate-limited']),
    });
    expect(list.plan.partitions).toHaveLength(CAUSE_IDS.length);
    expect(new Set(commands)).toEqual(new Set(['QueryCommand', 'BatchGetItemCommand']));
  });

  it('shows the recovery time of resolved incidents (first failure to last recovery)', async () => {
    const [web] = (
      await queries().list(parseIncidentFilter({ cluster: 'prod-eu', cause: 'image-not-found' }, now))
    ).incidents;
    expect(web).toMatchObject({
      status: 'resolved',
      affectedPods: 2,
      firstSeen: new Date(T0 - DAY).toISOString(),
      recoveredAt: new Date(T0 - DAY + 6 * MINUTE).toISOString(),
      resolvedAt: new Date(T0 - DAY + 8 * MINUTE).toISOString(),
      registry: 'docker.io',
      title: 'Image tag or digest not found',
    });
    expect(web!.incidentId).toMatch(/^pw-[0-9a-z]{12}\.2$/);
  });

  it.each([
    [{ cluster: 'prod-us' }, 'byCluster', ['prod-us/shop/deployment/web open']],
    [{ cluster: 'prod-eu', namespace: 'batch' }, 'byCluster', ['prod-eu/batch/deployment/worker resolved']],
    [
      { cause: 'rate-limited' },
      'byCause',
      ['prod-us/shop/deployment/web open', 'prod-eu/shop/deployment/api open'],
    ],
    [
      { status: 'resolved', since: '30d' },
      'byCause',
      [
        'prod-eu/batch/deployment/worker resolved',
        'prod-eu/shop/deployment/web resolved',
        'prod-eu/shop/deployment/web resolved',
      ],
    ],
    [{ status: 'open' }, 'byCause', ['prod-us/shop/deployment/web open', 'prod-eu/shop/deployment/api open']],
    [
      { workload: 'web', since: '30d' },
      'byCause',
      [
        'prod-us/shop/deployment/web open',
        'prod-eu/shop/deployment/web resolved',
        'prod-eu/shop/deployment/web resolved',
      ],
    ],
    [
      { workload: 'deployment/web', cluster: 'prod-eu', namespace: 'shop', since: '30d' },
      'byWorkload',
      ['prod-eu/shop/deployment/web resolved', 'prod-eu/shop/deployment/web resolved'],
    ],
    [
      { workload: 'Deployment/api', cluster: 'prod-eu', namespace: 'shop' },
      'byWorkload',
      ['prod-eu/shop/deployment/api open'],
    ],
    [{ workload: 'statefulset/web', cluster: 'prod-eu', namespace: 'shop' }, 'byWorkload', []],
    [{ since: '2h' }, 'byCause', ['prod-us/shop/deployment/web open', 'prod-eu/shop/deployment/api open']],
    [{ limit: '1' }, 'byCause', ['prod-us/shop/deployment/web open']],
  ])('filters %j through %s', async (input, index, expected) => {
    const list = await queries().list(parseIncidentFilter(input, now));
    expect(list.plan.index).toBe(index);
    expect(where(list)).toEqual(expected);
    expect(list.truncated).toBe('limit' in input);
    expect(commands).not.toContain('ScanCommand');
  });

  it('reads one workload through its own index partition', () => {
    expect(
      planQuery({ cluster: 'c', namespace: 'n', workload: { kind: 'cronjob', name: 'nightly' } }),
    ).toEqual({
      index: 'byWorkload',
      partitions: ['WORKLOAD#["c","n","CronJob","nightly"]'],
    });
    // An unknown kind's spelling cannot be guessed: its cluster's partition, filtered.
    expect(planQuery({ cluster: 'c', namespace: 'n', workload: { kind: 'rollout', name: 'x' } }).index).toBe(
      'byCluster',
    );
  });
});

describe('one incident', () => {
  it('returns the whole incident: summary, verdict, containers and Slack posts', async () => {
    const [, web] = (
      await queries().list(
        parseIncidentFilter({ cluster: 'prod-eu', cause: 'image-not-found', since: '30d' }, now),
      )
    ).incidents;
    // Both generations were told in Slack: a message and its resolution reply each.
    const [latest] = (
      await queries().list(parseIncidentFilter({ cluster: 'prod-eu', cause: 'image-not-found' }, now))
    ).incidents;
    expect(Object.keys((await queries().get(latest!.incidentId))!.posts).sort()).toEqual([
      'main',
      'resolved-1',
    ]);
    commands.length = 0;
    const record = await queries().get(web!.incidentId);
    expect(record?.summary).toEqual(web);
    expect(record?.summary.incidentId).toMatch(/^pw-[0-9a-z]{12}$/);
    expect(record?.incident.latest?.verdict.cause).toBe('image-not-found');
    // The head, the Slack item and the latest failure's text; the container rows only when the
    // full timeline is asked for.
    expect(record!.incident.containers).toEqual({});
    expect(Object.keys(record!.posts).sort()).toEqual(['main', 'resolved-1']);
    // The head and the Slack item (asked together: one call), the latest text and the actions from Slack.
    expect(commands).toEqual(['BatchGetItemCommand', 'GetItemCommand', 'GetItemCommand']);
    const full = await queries().get(web!.incidentId, { full: true });
    expect(Object.values(full!.incident.containers).map((container) => container.pod)).toEqual(['web-a']);
  });

  it('says undefined for an id it does not have, and refuses what is not an id', async () => {
    await expect(queries().get('pw-0000000000aa')).resolves.toBeUndefined();
    await expect(queries().get('web')).rejects.toThrow(HistoryInputError);
    await expect(queries().get('pw-0000000000aa.1')).rejects.toThrow(/not an incident id/);
  });
});

describe('stats', () => {
  it('counts by cause and registry, with the median time to recover', async () => {
    const stats = await queries().stats(parseStatsFilter({}, now));
    expect(stats.total).toEqual({ incidents: 5, open: 2, resolved: 3, medianRecoveryMs: 6 * MINUTE });
    expect(stats.byCause).toEqual([
      {
        cause: 'image-not-found',
        title: 'Image tag or digest not found',
        incidents: 2,
        open: 0,
        resolved: 2,
        medianRecoveryMs: 5 * MINUTE,
      },
      { cause: 'rate-limited', title: 'Registry rate limit reached', incidents: 2, open: 2, resolved: 0 },
      {
        cause: 'registry-auth',
        title: 'Registry refused the credentials',
        incidents: 1,
        open: 0,
        resolved: 1,
        medianRecoveryMs: 20 * MINUTE,
      },
    ]);
    expect(stats.byRegistry).toEqual([
      { registry: 'docker.io', incidents: 4, open: 2, resolved: 2, medianRecoveryMs: 5 * MINUTE },
      {
        registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
        incidents: 1,
        open: 0,
        resolved: 1,
        medianRecoveryMs: 20 * MINUTE,
      },
    ]);
    expect(commands).not.toContain('ScanCommand');
  });

  it('narrows to a cluster and a window', async () => {
    const stats = await queries().stats(parseStatsFilter({ cluster: 'prod-us', since: '1d' }, now));
    expect(stats.total).toEqual({ incidents: 1, open: 1, resolved: 0 });
    expect(stats.cluster).toBe('prod-us');
  });
});

describe('filter validation', () => {
  it.each([
    [{ cause: 'tag-typo' }, /unknown cause "tag-typo": expected one of image-not-found, /],
    [{ since: 'a week' }, /since "a week" is not a duration or date/],
    [{ since: '2026-13-45' }, /not a valid date/],
    [{ limit: '0' }, /limit "0" must be a whole number from 1 to 1000/],
    [{ status: 'closed' }, /status "closed" must be open, resolved or all/],
    [{ workload: 'deployment/' }, /workload "deployment\/" must be a name or kind\/name/],
    [{ cluster: ' ' }, /cluster is empty/],
  ])('%j is refused', (input, message) => {
    expect(() => parseIncidentFilter(input, now)).toThrow(message);
  });

  it('takes durations and dates for since; open incidents default to any age', () => {
    expect(parseIncidentFilter({ since: '36h' }, now).since).toBe(now - 36 * HOUR);
    expect(parseIncidentFilter({ since: '2026-02-01' }, now).since).toBe(Date.parse('2026-02-01'));
    expect(parseIncidentFilter({}, now).since).toBe(now - 7 * DAY);
    expect(parseIncidentFilter({ status: 'open' }, now).since).toBeUndefined();
    expect(parseStatsFilter({}, now).since).toBe(now - 30 * DAY);
  });
});
