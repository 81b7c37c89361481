/**
 * `pullwatch explain --check` and `diagnose --check` as a user runs them: a child process that trusts
 * the lab's openssl CA through NODE_EXTRA_CA_CERTS, reading real Distribution registries over TLS (open,
 * htpasswd, token auth with our own token server), credentials from DOCKER_CONFIG (a credential helper)
 * and REGISTRY_AUTH_FILE, and private ECR from a fake endpoint through AWS_ENDPOINT_URL_ECR.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../e2e/support/process';
import { DUMMY_CREDENTIALS } from '../support/dynalite';
import { FakeEcr } from '../support/fake-ecr';
import { FakeKubeApi, podObject, setContainerState } from '../support/fake-kube-api';
import { RecordingServer } from '../functions/_common/registry-check/support/hostile-registry';
import {
  basicAuth,
  writeCredentialHelper,
  writeJson,
} from '../functions/_common/registry-check/support/credential-files';
import {
  CONTENT,
  type RegistryLab,
  USER,
  describeLab,
  labSkipReason,
  startRegistryLab,
} from '../functions/_common/registry-check/support/registry-lab';

jest.setTimeout(120_000);

let lab: RegistryLab;
let folder: string;

const notFound = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
const unauthorized = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = Unknown desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`;
const authFailed = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = Unknown desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized`;

const explain = async (args: string[], env: NodeJS.ProcessEnv = lab.env()) => {
  const result = await run(['explain', '--check', '--check-trust', '127.0.0.1', ...args], env);
  return {
    ...result,
    json: args.includes('--json') && result.code === 0 ? JSON.parse(result.stdout) : undefined,
  };
};

beforeAll(async () => {
  if (labSkipReason) return;
  lab = await startRegistryLab();
  folder = await mkdtemp(join(tmpdir(), 'pullwatch-cli-check-'));
});
afterAll(async () => {
  if (labSkipReason) return;
  await lab?.stop();
  await rm(folder, { recursive: true, force: true });
});

describeLab('explain --check against real registries over TLS', () => {
  it('confirms a missing tag with the nearest tags, in the human output and the JSON', async () => {
    const image = `${lab.open.host}/${CONTENT.app.repository}:1.0.2`;
    const [text, json] = await Promise.all([
      explain(['--image', image, notFound(image)]),
      explain(['--json', '--image', image, notFound(image)]),
    ]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `^Registry check: ✔ confirmed from laptop at \\d\\d:\\d\\d UTC: ${lab.open.host}/acme/app has no tag 1\\.0\\.2; nearest: 1\\.0\\.1, 1\\.0\\.0, 1\\.0\\.2-rc1, 1\\.1\\.0, 2\\.0\\.0\\.$`,
        'm',
      ),
    );
    expect(json.json.registryCheck).toEqual({
      outcome: 'confirmed',
      summary: `${lab.open.host}/acme/app has no tag 1.0.2; nearest: 1.0.1, 1.0.0, 1.0.2-rc1, 1.1.0, 2.0.0.`,
      suggestedTags: ['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0'],
      public: true,
      checkedFrom: 'laptop',
      checkedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      durationMs: expect.any(Number),
    });
  });

  it('trusts the registry only through NODE_EXTRA_CA_CERTS, and loopback only when listed', async () => {
    const image = `${lab.open.host}/${CONTENT.app.repository}:1.0.2`;
    const { NODE_EXTRA_CA_CERTS: _, ...untrusting } = lab.env();
    const [noCa, notListed] = await Promise.all([
      explain(['--json', '--image', image, notFound(image)], untrusting),
      run(['explain', '--check', '--json', '--image', image, notFound(image)], lab.env()),
    ]);
    expect(noCa.json.registryCheck).toMatchObject({
      outcome: 'unreachable',
      reason: expect.stringMatching(/^TLS with 127\.0\.0\.1:\d+ failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/),
    });
    expect(JSON.parse(notListed.stdout).registryCheck).toMatchObject({
      outcome: 'skipped',
      reason: expect.stringContaining('is a loopback address'),
    });
  });

  it('contacts nothing without --check', async () => {
    const canary = await new RecordingServer().start();
    try {
      const image = `${new URL(canary.origin).host}/acme/app:1.0`;
      const plain = ['--check-plain-http', new URL(canary.origin).host];
      const [without, withCheck] = await Promise.all([
        run(['explain', '--json', '--image', image, notFound(image)], lab.env()),
        explain([...plain, '--json', '--image', image, notFound(image)]),
      ]);
      expect(JSON.parse(without.stdout).registryCheck).toBeUndefined();
      expect(withCheck.json.registryCheck.outcome).not.toBe('skipped');
      // Only the run with --check reached the registry.
      expect(canary.requests[0]).toBe('GET /v2/');
      expect(
        canary.requests.every((request) => request.startsWith('GET /v2/') || request.startsWith('HEAD /v2/')),
      ).toBe(true);
      const misuse = await run(['explain', '--check-trust', '127.0.0.1', notFound(image)], lab.env());
      expect(misuse).toMatchObject({ code: 2, stderr: expect.stringContaining('only apply with --check') });
    } finally {
      await canary.stop();
    }
  });

  it('blames the node credentials when a credential helper reads the htpasswd registry', async () => {
    const image = `${lab.basic.host}/${CONTENT.app.repository}:1.0.0`;
    const bin = join(folder, 'bin');
    await writeCredentialHelper(bin, 'pwtest', lab.basic.host, USER, lab.password);
    await writeJson(join(folder, 'docker', 'config.json'), { credHelpers: { [lab.basic.host]: 'pwtest' } });
    const env = lab.env({ DOCKER_CONFIG: join(folder, 'docker'), PATH: `${bin}:${process.env.PATH}` });
    const [withHelper, without] = await Promise.all([
      explain(['--json', '--image', image, authFailed(image)], env),
      explain(['--json', '--image', image, authFailed(image)]),
    ]);
    expect(withHelper.json.cause).toBe('registry-auth');
    expect(withHelper.json.registryCheck).toMatchObject({
      outcome: 'confirmed',
      summary: `Anonymous reads of ${image} are refused and your credentials read it, so the node's credentials are the problem.`,
      public: false,
    });
    expect(without.json.registryCheck).toMatchObject({
      outcome: 'confirmed',
      summary: expect.stringContaining('no credentials'),
    });
    for (const output of [withHelper.stdout, withHelper.stderr]) {
      expect(output).not.toContain(lab.password);
      expect(output).not.toContain(basicAuth(USER, lab.password));
    }
  });

  it('speaks the token protocol: anonymous tokens are refused, REGISTRY_AUTH_FILE credentials read', async () => {
    const image = `${lab.token.host}/${CONTENT.app.repository}:1.0.0`;
    const good = join(folder, 'auth-good.json');
    const bad = join(folder, 'auth-bad.json');
    await writeJson(good, { auths: { [lab.token.host]: { auth: basicAuth(USER, lab.password) } } });
    await writeJson(bad, { auths: { [lab.token.host]: { auth: basicAuth(USER, 'wrong-password') } } });
    lab.tokenServer.requests.length = 0;
    const [readable, refused, missingTag] = await Promise.all([
      explain(['--json', '--image', image, unauthorized(image)], lab.env({ REGISTRY_AUTH_FILE: good })),
      explain(['--json', '--image', image, authFailed(image)], lab.env({ REGISTRY_AUTH_FILE: bad })),
      explain(
        [
          '--json',
          '--image',
          `${lab.token.host}/acme/app:1.0.2`,
          notFound(`${lab.token.host}/acme/app:1.0.2`),
        ],
        lab.env({ REGISTRY_AUTH_FILE: good }),
      ),
    ]);
    expect(readable.json.cause).toBe('repo-not-found-or-unauthorized');
    expect(readable.json.registryCheck).toMatchObject({
      outcome: 'confirmed',
      summary: `${image} exists and your credentials read it, so the node's credentials are the problem.`,
      public: false,
    });
    expect(refused.json.registryCheck).toMatchObject({
      outcome: 'confirmed',
      summary: `The registry refuses ${image} anonymously and with your credentials too.`,
    });
    expect(missingTag.json.registryCheck).toMatchObject({
      outcome: 'confirmed',
      suggestedTags: ['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0'],
    });
    expect(lab.tokenServer.requests).toEqual(
      expect.arrayContaining([
        { scope: ['repository:acme/app:pull'], anonymous: true },
        { scope: ['repository:acme/app:pull'], anonymous: false, user: USER },
        { scope: ['repository:acme/app:pull'], anonymous: false },
      ]),
    );
    expect(JSON.stringify([readable, refused])).not.toContain(lab.password);
  });

  it('lists the platforms of a multi-platform index', async () => {
    const image = `${lab.open.host}/${CONTENT.multi.repository}:${CONTENT.multi.tag}`;
    const message = `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": no match for platform in manifest: not found`;
    const { json } = await explain(['--json', '--image', image, message]);
    expect(json.cause).toBe('platform-mismatch');
    expect(json.registryCheck).toMatchObject({
      outcome: 'confirmed',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
  });
});

describe('explain --check against private ECR', () => {
  let ecr: FakeEcr;
  beforeAll(async () => {
    ecr = await new FakeEcr().start();
    ecr.repositories.set(
      'team/app',
      new Map([
        [
          '1.4.0',
          {
            digest: `sha256:${'a'.repeat(64)}`,
            manifest: '{}',
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
          },
        ],
      ]),
    );
  });
  afterAll(() => ecr.stop());

  it('asks ECR through the SDK endpoint override with the AWS credentials of the environment', async () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app:1.4.1';
    const { code, stdout } = await run(['explain', '--check', '--json', '--image', image, notFound(image)], {
      PATH: process.env.PATH,
      HOME: tmpdir(),
      AWS_ENDPOINT_URL_ECR: ecr.origin,
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
    });
    expect(code).toBe(0);
    expect(JSON.parse(stdout).registryCheck).toMatchObject({
      outcome: 'confirmed',
      summary: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app has no tag 1.4.1; nearest: 1.4.0.',
      public: false,
    });
    expect(ecr.calls.map(({ operation, signed }) => `${operation} ${signed}`)).toEqual([
      'DescribeImages true',
      'ListImages true',
    ]);
    expect(stdout).not.toContain(DUMMY_CREDENTIALS.secretAccessKey);
  });
});

describeLab('diagnose --check', () => {
  it('adds the registry check to each failing workload', async () => {
    const api = await new FakeKubeApi().start();
    try {
      const image = `${lab.open.host}/${CONTENT.app.repository}:1.0.2`;
      api.apply(
        'pods',
        setContainerState(podObject({ name: 'web-1', namespace: 'shop', container: 'web', image }), 'web', {
          waiting: { reason: 'ErrImagePull', message: notFound(image) },
        }),
      );
      const env = lab.env({ KUBECONFIG: api.writeKubeconfig(folder) });
      const [text, json] = await Promise.all([
        run(['diagnose', 'web-1', '-n', 'shop', '--check', '--check-trust', '127.0.0.1'], env),
        run(['diagnose', 'web-1', '-n', 'shop', '--check', '--check-trust', '127.0.0.1', '--json'], env),
      ]);
      expect(text.stdout).toContain(`Registry check: ✔ confirmed from laptop`);
      expect(JSON.parse(json.stdout).failing[0].verdict.registryCheck).toMatchObject({
        outcome: 'confirmed',
        suggestedTags: ['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0'],
      });
    } finally {
      await api.stop();
    }
  });
});
