/**
 * `pullwatch diagnose` against the fake Kubernetes API server, with pods and events played from the
 * shipped recordings: the verdict the Slack message would give, with the real names in the fix.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { diagnoseNamespace, renderDiagnosis } from '../../cli/diagnose';
import { renderVerdict } from '../../cli/render-verdict';
import { KubeHttp } from '../../forwarder/kube-http';
import { parseRecording } from '../../local/recording';
import { applyChange } from '../e2e/support/cluster-player';
import { run as runPullwatch } from '../e2e/support/process';
import { FakeKubeApi, podObject, setContainerState } from '../support/fake-kube-api';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');

let api: FakeKubeApi;
let dir: string;
let kubeconfig: string;
let kube: KubeHttp;

const play = (file: string) => {
  const recording = parseRecording(readFileSync(join(ROOT, 'test', 'fixtures', 'recordings', file), 'utf8'));
  const shift = (ms: number) => ms - recording.startedAt + Date.now() - 60_000;
  for (const change of recording.changes) applyChange(api, change, shift);
};

const podsOf = (namespace: string, prefix: string) =>
  api
    .list('pods')
    .filter((pod) => pod.metadata.namespace === namespace && pod.metadata.name.startsWith(prefix))
    .map((pod) => pod.metadata.name)
    .sort();

beforeAll(async () => {
  api = await new FakeKubeApi().start();
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-diagnose-'));
  kubeconfig = api.writeKubeconfig(dir);
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  kube = new KubeHttp(config, 5000);
  play('tag-typo.jsonl');
  play('private-registry-no-secret.jsonl');
  // A healthy pod next to them.
  api.apply(
    'pods',
    setContainerState(
      podObject({ name: 'cache-0', namespace: 'shop', container: 'redis', image: 'redis:7.2' }),
      'redis',
      { running: {} },
    ),
  );
});
afterAll(async () => {
  await api.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('diagnose one pod', () => {
  it('gives the verdict from the most informative text, with the real names in the fix', async () => {
    const [pod] = podsOf('shop', 'web-');
    // The recording ends in ImagePullBackOff: the status says only "Back-off pulling image", the
    // kubelet's earlier event has the registry's answer.
    expect(api.get('pods', 'shop', pod!)?.status).toMatchObject({
      containerStatuses: [
        {
          state: {
            waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "nginx:1.27-alpin"' },
          },
        },
      ],
    });
    const result = await diagnoseNamespace(kube, { namespace: 'shop', pod: pod!, cluster: 'fake' });
    expect(result.groups).toHaveLength(1);
    const [group] = result.groups;
    expect(group).toMatchObject({
      workload: 'deployment/web',
      container: 'web',
      image: 'nginx:1.27-alpin',
      pods: [pod],
    });
    expect(group!.failures[0]!.detail).toMatchObject({ reason: 'ImagePullBackOff', count: 4 });
    expect(group!.failures[0]!.detail.message).toMatch(
      /^Failed to pull image "nginx:1.27-alpin": rpc error: code = NotFound/,
    );
    expect(group!.verdict).toMatchObject({
      cause: 'image-not-found',
      evidence: 'docker.io/library/nginx:1.27-alpin: not found',
    });
    const text = renderDiagnosis(result, renderVerdict, { single: true });
    expect(text.split('\n').slice(0, 3)).toEqual([
      `shop/${pod} · container web (deployment/web) · image nginx:1.27-alpin`,
      expect.stringMatching(/^ImagePullBackOff · 4 failed pulls since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/),
      '',
    ]);
    expect(text).toContain(
      "$ kubectl set image deployment/web web='docker.io/library/nginx:<existing-tag>' -n shop",
    );
  });

  it('blames the missing pull secret, by name', async () => {
    const [pod] = podsOf('payments', 'billing-api-');
    const result = await diagnoseNamespace(kube, { namespace: 'payments', pod: pod!, cluster: 'fake' });
    const [group] = result.groups;
    expect(group!.verdict.cause).toBe('pull-secret-missing');
    expect(group!.failures[0]!.detail.pullSecretWarning).toBe(
      'Unable to retrieve some image pull secrets (acr-pull); attempting to pull the image may not succeed.',
    );
    const text = renderDiagnosis(result, renderVerdict, { single: true });
    expect(text).toContain('the kubelet could not retrieve an image pull secret');
    expect(text).toMatch(/kubectl create secret docker-registry acr-pull .*-n payments/);
  });

  it('says when a pod is not failing, and when it does not exist', async () => {
    const result = await diagnoseNamespace(kube, { namespace: 'shop', pod: 'cache-0', cluster: 'fake' });
    expect(result.groups).toEqual([]);
    expect(renderDiagnosis(result, renderVerdict, { single: true })).toBe(
      'shop/cache-0: no container is failing to pull its image (redis: running)',
    );
    await expect(
      diagnoseNamespace(kube, { namespace: 'shop', pod: 'nope', cluster: 'fake' }),
    ).rejects.toThrow('pod "nope" not found in namespace "shop"');
  });
});

describe('diagnose --all', () => {
  it('covers every failing pod of the namespace, one verdict per workload and cause', async () => {
    const result = await diagnoseNamespace(kube, { namespace: 'shop', cluster: 'fake' });
    expect(result.podsChecked).toBe(4);
    expect(result.groups.map((group) => [group.workload, group.pods.length, group.verdict.cause])).toEqual([
      ['deployment/web', 3, 'image-not-found'],
    ]);
    const text = renderDiagnosis(result, renderVerdict, { single: false });
    expect(text.split('\n')[0]).toBe(
      `shop/deployment/web: 3 pods (${result.groups[0]!.pods.join(', ')}) · container web · image nginx:1.27-alpin`,
    );
    expect(text).toMatch(/ImagePullBackOff · 12 failed pulls since/);
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '3 of 4 pods in namespace shop failing to pull, 1 distinct problem.',
    );
  });
});

describe('pullwatch diagnose (the command)', () => {
  // Not spawnSync: the fake API server answers from this process's event loop.
  const run = async (args: string[]) => {
    const { code, stdout, stderr } = await runPullwatch(['diagnose', ...args], {
      PATH: process.env.PATH,
      HOME: dir,
      KUBECONFIG: kubeconfig,
    });
    return { status: code, stdout, stderr };
  };

  it('prints the verdict for a pod, and exits 0', async () => {
    const [pod] = podsOf('payments', 'billing-api-');
    const { status, stdout, stderr } = await run([pod!, '-n', 'payments']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain(
      `payments/${pod} · container api (deployment/billing-api) · image acmeprod.azurecr.io/payments/billing-api:2.3.1`,
    );
    expect(stdout).toContain('Image pull secret missing  [pull-secret-missing');
  });

  it('exits 1 with one line for a pod that does not exist, and 2 without a pod or --all', async () => {
    const [missing, usage] = await Promise.all([run(['nope', '-n', 'shop']), run([])]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe('pullwatch: pod "nope" not found in namespace "shop"\n');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('name a pod, or give --all');
  });
});
