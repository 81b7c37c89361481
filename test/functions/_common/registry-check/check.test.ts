/**
 * The registry check in process, against the real Distribution registry over plain HTTP (listed as
 * such), a paging front for `n`/`Link`, misbehaving registries, and a fake ECR reached by the real SDK.
 * TLS, credentials and the token protocol are exercised through the CLI (test/cli/registry-check.test.ts).
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import type { CauseId } from '#shared/diagnosis/causes';
import type { RegistryCheckPolicy } from '#shared/registry-check/url-safety';
import {
  type RegistryCheckOptions,
  RegistryChecker,
  checkRegistry,
} from '../../../../functions/_common/registry-check/check';
import { DUMMY_CREDENTIALS } from '../../../support/dynalite';
import { FakeEcr } from '../../../support/fake-ecr';
import {
  HOSTILE_BEHAVIOURS,
  type HostileBehaviour,
  HostileRegistry,
  PagingFront,
  RecordingServer,
  SilentServer,
} from './support/hostile-registry';
import {
  CONTENT,
  type RegistryLab,
  describeLab,
  labSkipReason,
  startRegistryLab,
} from './support/registry-lab';

jest.setTimeout(90_000);

let lab: RegistryLab;
let front: PagingFront;
let canary: RecordingServer;
let silent: SilentServer;
const hostile = new Map<HostileBehaviour, HostileRegistry>();

const noCredentials = async () => undefined;

const optionsFor = (extra: Partial<RegistryCheckOptions> = {}): RegistryCheckOptions => {
  const policy: RegistryCheckPolicy = {
    plainHttp: [
      lab.plain.host,
      front.host,
      silent.host,
      ...[...hostile.values()].map((server) => server.host),
    ],
    trusted: ['127.0.0.1'],
    denyPrivate: true,
  };
  return { policy, checkedFrom: 'test', credentials: noCredentials, ...extra };
};

const check = (cause: CauseId, image: string, extra: Partial<RegistryCheckOptions> = {}) => {
  const contacted: string[] = [];
  return checkRegistry(
    { cause, image },
    { ...optionsFor(extra), onContact: (origin) => contacted.push(origin) },
  ).then((result) => ({ ...result, contacted }));
};

beforeAll(async () => {
  if (labSkipReason) return;
  lab = await startRegistryLab();
  front = await new PagingFront(lab.plain.origin).start();
  canary = await new RecordingServer().start();
  silent = await new SilentServer().start();
  for (const behaviour of HOSTILE_BEHAVIOURS)
    hostile.set(behaviour, await new HostileRegistry(behaviour, canary).start());
});

afterAll(async () => {
  if (labSkipReason) return;
  await Promise.all([...hostile.values()].map((server) => server.stop()));
  await Promise.all([front?.stop(), canary?.stop(), silent?.stop()]);
  await lab?.stop();
});

describeLab('against a real Distribution registry', () => {
  const app = () => `${lab.plain.host}/${CONTENT.app.repository}`;

  it('confirms a missing tag and suggests the nearest ones of the same repository', async () => {
    const result = await check('image-not-found', `${app()}:1.0.2`);
    expect(result).toMatchObject({
      outcome: 'confirmed',
      summary: `${app()} has no tag 1.0.2; nearest: 1.0.1, 1.0.0, 1.0.2-rc1, 1.1.0, 2.0.0.`,
      suggestedTags: ['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0'],
      public: true,
      checkedFrom: 'test',
    });
    expect(result.durationMs).toBeLessThan(2_000);
    expect(new Set(result.contacted)).toEqual(new Set([lab.plain.origin]));
  });

  it('contradicts the verdict when the tag exists, and confirms a repository that does not', async () => {
    expect((await check('image-not-found', `${app()}:1.0.1`)).outcome).toBe('contradicted');
    expect(await check('repo-not-found-or-unauthorized', `${lab.plain.host}/acme/nothing:1.0`)).toMatchObject(
      {
        outcome: 'confirmed',
        summary: `${lab.plain.host}/acme/nothing does not exist on its registry.`,
      },
    );
  });

  it('reads every page of tags/list through Link with a small n', async () => {
    const result = await check('image-not-found', `${front.host}/${CONTENT.app.repository}:1.0.2`, {
      limits: { tagPageSize: 2 },
    });
    expect(result.suggestedTags).toEqual(['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0']);
    expect(front.tagPages).toEqual(['?n=2', '?n=2&last=1.0.1', '?n=2&last=1.1.0']);
  });

  it('lists the platforms of a multi-platform index', async () => {
    const result = await check(
      'platform-mismatch',
      `${lab.plain.host}/${CONTENT.multi.repository}:${CONTENT.multi.tag}`,
    );
    expect(result).toMatchObject({
      outcome: 'confirmed',
      platforms: ['linux/amd64', 'linux/arm64'],
      public: true,
    });
  });

  it('probes /v2/ for causes the registry cannot confirm', async () => {
    const result = await check('dns-resolution', `${app()}:1.0.1`);
    expect(result).toMatchObject({ outcome: 'inconclusive', summary: expect.stringContaining('HTTP 200') });
    expect(result.contacted).toEqual([lab.plain.origin]);
  });

  it('asks once per image in a storm, and again after the cache time', async () => {
    let now = Date.parse('2026-12-02T10:00:00Z');
    const checker = new RegistryChecker({ ...optionsFor(), now: () => new Date(now) }, 120_000);
    const image = `${front.host}/${CONTENT.app.repository}:9.9.9`;
    front.requests.length = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, () => checker.check({ cause: 'image-not-found', image })),
    );
    expect(new Set(results.map((result) => result.summary)).size).toBe(1);
    const firstRound = front.requests.length;
    expect(firstRound).toBe(3); // ping, manifest HEAD, one page of tags
    now += 60_000;
    await checker.check({ cause: 'image-not-found', image });
    expect(front.requests.length).toBe(firstRound);
    now += 61_000;
    await checker.check({ cause: 'image-not-found', image });
    expect(front.requests.length).toBe(2 * firstRound);
  });
});

describeLab('hostile registries', () => {
  const hostileImage = (behaviour: HostileBehaviour) => `${hostile.get(behaviour)!.host}/acme/app:1.0.2`;

  afterEach(() => {
    // Whatever the registry said, nothing outside it and its realm was contacted.
    expect(canary.requests).toEqual([]);
  });

  it.each([
    ['metadata-realm', 'skipped', /token realm 169\.254\.169\.254 is a cloud metadata address/, ['GET /v2/']],
    ['plain-http-realm', 'skipped', /token realm http:\/\/127\.0\.0\.1:\d+ is plain HTTP/, ['GET /v2/']],
    [
      'redirect-elsewhere',
      'skipped',
      /redirect to http:\/\/127\.0\.0\.1:\d+ leaves the registry/,
      ['GET /v2/', 'HEAD /v2/acme/app/manifests/1.0.2'],
    ],
    [
      'link-elsewhere',
      'skipped',
      /redirect to http:\/\/127\.0\.0\.1:\d+ leaves the registry/,
      ['GET /v2/', 'HEAD /v2/acme/app/manifests/1.0.2', 'GET /v2/acme/app/tags/list?n=1000'],
    ],
    [
      'huge-tag-list',
      'skipped',
      /sent an answer larger than 1048576 bytes/,
      ['GET /v2/', 'HEAD /v2/acme/app/manifests/1.0.2', 'GET /v2/acme/app/tags/list?n=1000'],
    ],
    ['slow-ping', 'unreachable', /did not answer within 2000 ms/, ['GET /v2/']],
  ] as const)('%s: %s with the reason, nothing else asked', async (behaviour, outcome, reason, requests) => {
    const result = await check('image-not-found', hostileImage(behaviour));
    expect(result).toMatchObject({ outcome, reason: expect.stringMatching(reason), suggestedTags: [] });
    expect(hostile.get(behaviour)!.requests).toEqual(requests);
    expect(new Set(result.contacted)).toEqual(new Set([hostile.get(behaviour)!.origin]));
  });

  it('gives up after 5 s in all when every answer is slow but inside its own 2 s', async () => {
    const result = await check('image-not-found', hostileImage('slow-everything'));
    expect(result).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringMatching(/did not answer within \d+ ms/),
    });
    expect(result.durationMs).toBeGreaterThanOrEqual(4_900);
    expect(result.durationMs).toBeLessThan(5_500);
  });

  it('reports a registry that never answers as unreachable', async () => {
    const result = await check('image-not-found', `${silent.host}/acme/app:1.0.2`);
    expect(result).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringContaining('did not answer within 2000 ms'),
    });
    expect(silent.connections).toBe(1);
  });

  it('contacts nothing for an invalid reference, a missing image, or an untrusted loopback registry', async () => {
    const invalid = await check('invalid-image-name', 'Acme/App:1.0');
    expect(invalid).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringContaining('the image reference is invalid'),
    });
    expect(invalid.contacted).toEqual([]);
    expect(await check('unknown', '')).toMatchObject({ outcome: 'skipped', contacted: [] });
    const untrusted = await check('image-not-found', `${new URL(canary.origin).host}/acme/app:1.0`, {
      policy: { plainHttp: [], trusted: [], denyPrivate: false },
    });
    expect(untrusted).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringContaining('loopback'),
      contacted: [],
    });
  });
});

describe('private ECR through its API', () => {
  let ecr: FakeEcr;
  const REGISTRY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
  const INDEX = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      { platform: { os: 'linux', architecture: 'amd64' } },
      { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
    ],
  });

  beforeAll(async () => {
    ecr = await new FakeEcr().start();
    ecr.repositories.set(
      'team/app',
      new Map(
        ['1.0.0', '1.0.1', '1.1.0', 'latest'].map((tag, i) => [
          tag,
          {
            digest: `sha256:${String(i).repeat(64)}`,
            manifest: INDEX,
            mediaType: 'application/vnd.oci.image.index.v1+json',
          },
        ]),
      ),
    );
  });
  afterAll(() => ecr.stop());

  const ecrCheck = (cause: CauseId, image: string) =>
    checkRegistry(
      { cause, image },
      {
        policy: { plainHttp: [], trusted: [], denyPrivate: true },
        checkedFrom: 'test',
        credentials: noCredentials,
        ecrClient: (region) =>
          new ECRClient({ region, endpoint: ecr.origin, credentials: DUMMY_CREDENTIALS, maxAttempts: 1 }),
      },
    );

  beforeEach(() => {
    ecr.calls.length = 0;
  });

  it('confirms a missing tag with DescribeImages and suggests from ListImages, every call signed', async () => {
    const result = await ecrCheck('image-not-found', `${REGISTRY}/team/app:1.0.2`);
    expect(result).toMatchObject({
      outcome: 'confirmed',
      suggestedTags: ['1.0.1', '1.0.0', '1.1.0'],
      public: false,
    });
    expect(ecr.calls).toEqual([
      { operation: 'DescribeImages', repositoryName: 'team/app', signed: true },
      { operation: 'ListImages', repositoryName: 'team/app', signed: true },
    ]);
  });

  it('confirms a missing repository, reads platforms with BatchGetImage, and blames the node for auth', async () => {
    expect(await ecrCheck('repo-not-found-or-unauthorized', `${REGISTRY}/team/gone:1.0`)).toMatchObject({
      outcome: 'confirmed',
      summary: `${REGISTRY}/team/gone does not exist on its registry.`,
    });
    expect(await ecrCheck('platform-mismatch', `${REGISTRY}/team/app:1.0.0`)).toMatchObject({
      outcome: 'confirmed',
      platforms: ['linux/amd64', 'linux/arm64/v8'],
    });
    expect(await ecrCheck('registry-auth', `${REGISTRY}/team/app:1.0.0`)).toMatchObject({
      outcome: 'confirmed',
      summary: expect.stringContaining("the node's credentials are the problem"),
    });
    expect(ecr.calls.map((call) => call.operation)).toEqual([
      'DescribeImages',
      'BatchGetImage',
      'DescribeImages',
    ]);
  });
});
