/**
 * The forwarder end to end: the real Kubernetes client against the fake API server, the real
 * EventBridge client against the fake PutEvents endpoint. Every assertion is on what reached the bus.
 */
import { parsePullwatchEvent } from '#shared/contract';
import { podEvent, setContainerState } from '../support/fake-kube-api';
import { IMAGE, Lab, NOT_FOUND, UNAUTHORIZED } from './lab';

jest.setTimeout(20_000);

let lab: Lab;

beforeEach(async () => {
  lab = await new Lab().start();
});

afterEach(async () => {
  await lab.stop();
});

const metric = async (port: number, line: string): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const found = text.split('\n').find((candidate) => candidate.startsWith(line));
  return found === undefined ? 0 : Number(found.slice(line.length).trim());
};

describe('failures and recoveries', () => {
  it('ships a failure once, again when the error text changes, and the recovery when the container starts', async () => {
    await lab.forwarder();
    const web = lab.deploymentPod('web', {
      annotations: { 'pullwatch.io/slack-channel': '#shop-alerts', 'team.example.com/owner': 'shop' },
    });
    lab.failPull(web, NOT_FOUND);
    await lab.waitForShipped(1, web);

    // The kubelet backs off and retries with the same error: nothing new to say.
    lab.backOff(web);
    lab.failPull(web, NOT_FOUND);
    lab.backOff(web);
    await lab.settle();
    expect(lab.shipped(web)).toEqual([`ImagePullFailed ${web.metadata.name} not-found`]);

    // The registry now answers 401: that is news.
    lab.failPull(web, UNAUTHORIZED);
    lab.backOff(web);
    await lab.waitForShipped(2, web);
    lab.start_(web);
    await lab.waitForShipped(3, web);
    await lab.settle();
    expect(lab.shipped(web)).toEqual([
      `ImagePullFailed ${web.metadata.name} not-found`,
      `ImagePullFailed ${web.metadata.name} 401`,
      `ImagePullRecovered ${web.metadata.name} started`,
    ]);

    const [first, , recovered] = lab.bus.events
      .filter((event) => event.detail.pod === web.metadata.name)
      .map((event) =>
        parsePullwatchEvent({ source: event.source, 'detail-type': event.detailType, detail: event.detail }),
      );
    expect(first?.detail).toMatchObject({
      cluster: 'lab',
      namespace: 'shop',
      podUid: web.metadata.uid,
      container: 'web',
      containerType: 'regular',
      image: IMAGE,
      reason: 'ErrImagePull',
      message: NOT_FOUND,
      node: 'node-1',
      workload: { kind: 'Deployment', name: 'web' },
      pullSecrets: ['regcred'],
      serviceAccount: 'web',
      annotations: { 'pullwatch.io/slack-channel': '#shop-alerts' },
      count: 1,
    });
    expect(recovered?.detail).toMatchObject({ recovery: 'started', message: expect.stringContaining('401') });
    expect(
      lab.bus.events.every((event) => event.source === 'pullwatch' && event.eventBusName === 'pullwatch-lab'),
    ).toBe(true);
  });

  it("carries the kubelet's event text over a bare back-off line, and the pull-secret warning", async () => {
    await lab.forwarder();
    const web = lab.deploymentPod('web');
    lab.api.apply(
      'events',
      podEvent({
        pod: web,
        reason: 'FailedToRetrieveImagePullSecret',
        message:
          'Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
      }),
    );
    lab.api.apply(
      'events',
      podEvent({
        pod: web,
        container: 'web',
        reason: 'Failed',
        message: `Failed to pull image "${IMAGE}": ${UNAUTHORIZED}`,
      }),
    );
    lab.backOff(web);
    await lab.waitForShipped(1, web);
    expect(lab.bus.events.find((event) => event.detail.pod === web.metadata.name)?.detail).toMatchObject({
      reason: 'ImagePullBackOff',
      message: `Failed to pull image "${IMAGE}": ${UNAUTHORIZED}`,
      pullSecretWarning:
        'Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.',
    });
  });

  it('ships a recovery when a failing pod is deleted, or its container leaves the pull-failure state', async () => {
    await lab.forwarder();
    const doomed = lab.deploymentPod('doomed');
    const config = lab.deploymentPod('config');
    lab.failPull(doomed, NOT_FOUND);
    lab.failPull(config, NOT_FOUND);
    await lab.waitForShipped(2, doomed, config);
    lab.api.remove('pods', 'shop', doomed.metadata.name);
    lab.api.update('pods', 'shop', config.metadata.name, (pod) =>
      setContainerState(pod, 'web', {
        waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' },
      }),
    );
    await lab.waitForShipped(4, doomed, config);
    expect(lab.shipped(doomed)).toEqual([
      `ImagePullFailed ${doomed.metadata.name} not-found`,
      `ImagePullRecovered ${doomed.metadata.name} pod-deleted`,
    ]);
    expect(lab.shipped(config).at(-1)).toBe(`ImagePullRecovered ${config.metadata.name} left-pull-failure`);
  });

  it('ships a failing container of a pod whose other container has a null waiting reason', async () => {
    await lab.forwarder();
    const odd = lab.deploymentPod('odd');
    lab.api.update('pods', 'shop', odd.metadata.name, (pod) => {
      const spec = pod.spec as { containers: Array<{ name: string; image: string }> };
      spec.containers.push({ name: 'sidecar', image: 'envoy:1.32' });
      const status = (pod.status ?? {}) as { containerStatuses?: unknown[] };
      status.containerStatuses = [
        { name: 'sidecar', image: 'envoy:1.32', state: { waiting: { reason: null } } },
      ];
      pod.status = status;
    });
    lab.failPull(lab.api.get('pods', 'shop', odd.metadata.name) ?? odd, NOT_FOUND);
    await lab.waitForShipped(1, odd);
    await lab.settle();
    expect(lab.shipped(odd)).toEqual([`ImagePullFailed ${odd.metadata.name} not-found`]);
  });

  it("ships an image volume's pull failure as volume:<name> of the pod's workload, and its recovery", async () => {
    await lab.forwarder();
    const models = 'registry.example.com/shop/models:v3';
    const error = `rpc error: code = NotFound desc = failed to pull and unpack image "${models}": not found`;
    const withVolume = lab.api.update('pods', 'shop', lab.deploymentPod('inference').metadata.name, (pod) => {
      const spec = pod.spec as { containers: Array<Record<string, unknown>>; volumes?: unknown[] };
      spec.volumes = [{ name: 'models', image: { reference: models, pullPolicy: 'IfNotPresent' } }];
      spec.containers[0] = {
        ...spec.containers[0],
        volumeMounts: [{ name: 'models', mountPath: '/models' }],
      };
      setContainerState(pod, 'web', { waiting: { reason: 'ErrImagePull', message: error } });
    });
    // The kubelet pulls image volumes for the pod: its event names the pod, with no container fieldPath.
    lab.api.apply(
      'events',
      podEvent({ pod: withVolume, reason: 'Failed', message: `Failed to pull image "${models}": ${error}` }),
    );
    await lab.waitForShipped(1, withVolume);
    lab.start_(withVolume);
    await lab.waitForShipped(2, withVolume);
    await lab.settle();
    const events = lab.bus.events
      .filter((event) => event.detail.pod === withVolume.metadata.name)
      .map((event) =>
        parsePullwatchEvent({ source: event.source, 'detail-type': event.detailType, detail: event.detail }),
      );
    expect(
      events.map((event) => [
        event['detail-type'],
        'container' in event.detail ? event.detail.container : '',
      ]),
    ).toEqual([
      ['ImagePullFailed', 'volume:models'],
      ['ImagePullRecovered', 'volume:models'],
    ]);
    expect(events[0]?.detail).toMatchObject({
      containerType: 'volume',
      image: models,
      message: error,
      workload: { kind: 'Deployment', name: 'inference' },
    });
  });

  it('ships a CRI-O signature-policy rejection at container creation', async () => {
    await lab.forwarder();
    const signed = lab.deploymentPod('signed');
    const rejected =
      'SignatureValidationFailed: Source image rejected: A signature was required, but no signature exists';
    lab.api.update('pods', 'shop', signed.metadata.name, (pod) =>
      setContainerState(pod, 'web', { waiting: { reason: 'CreateContainerError', message: rejected } }),
    );
    await lab.waitForShipped(1, signed);
    expect(lab.bus.events.find((event) => event.detail.pod === signed.metadata.name)?.detail).toMatchObject({
      reason: 'CreateContainerError',
      message: rejected,
      container: 'web',
    });
  });

  it('resolves Job → CronJob, StatefulSet and bare pods, and watches init containers', async () => {
    await lab.forwarder();
    lab.api.apply('jobs', {
      metadata: {
        name: 'nightly-29012345',
        namespace: 'shop',
        ownerReferences: [
          { apiVersion: 'batch/v1', kind: 'CronJob', name: 'nightly', uid: 'c', controller: true },
        ],
      },
    });
    const job = lab.api.apply('pods', {
      ...podLike('nightly-29012345-abcde', { kind: 'Job', name: 'nightly-29012345' }),
    });
    const db = lab.api.apply('pods', podLike('db-0', { kind: 'StatefulSet', name: 'db' }));
    const bare = lab.api.apply('pods', podLike('debug-shell'));
    for (const pod of [job, db, bare]) lab.failPull(pod, NOT_FOUND);
    const init = lab.api.apply('pods', podLike('migrate-once', undefined, true));
    lab.api.update('pods', 'shop', 'migrate-once', (pod) =>
      setContainerState(
        pod,
        'migrate',
        { waiting: { reason: 'ErrImagePull', message: NOT_FOUND } },
        'initContainerStatuses',
      ),
    );
    await lab.waitForShipped(4, job, db, bare, init);
    const workloadOf = (name: string) =>
      lab.bus.events.find((event) => event.detail.pod === name)?.detail.workload;
    expect(workloadOf('nightly-29012345-abcde')).toEqual({ kind: 'CronJob', name: 'nightly' });
    expect(workloadOf('db-0')).toEqual({ kind: 'StatefulSet', name: 'db' });
    expect(workloadOf('debug-shell')).toEqual({ kind: 'Pod', name: 'debug-shell' });
    expect(lab.bus.events.find((event) => event.detail.pod === 'migrate-once')?.detail).toMatchObject({
      container: 'migrate',
      containerType: 'init',
    });
  });
});

const podLike = (name: string, owner?: { kind: string; name: string }, withInit = false) => ({
  metadata: {
    name,
    namespace: 'shop',
    ...(owner === undefined
      ? {}
      : { ownerReferences: [{ apiVersion: 'v1', ...owner, uid: 'o', controller: true }] }),
  },
  spec: {
    nodeName: 'node-2',
    ...(withInit ? { initContainers: [{ name: 'migrate', image: IMAGE }] } : {}),
    containers: [{ name: 'web', image: IMAGE }],
  },
  status: { phase: 'Pending' },
});

describe('watch drops, 410 Gone, relists and restarts', () => {
  it.each(['event', 'status'] as const)(
    'after 410 Gone (%s) re-lists without re-shipping, and ships what changed in the gap',
    async (goneAs) => {
      lab.api.goneAs = goneAs;
      const handle = await lab.forwarder();
      const [same, changed, deleted, recovered] = ['same', 'changed', 'deleted', 'recovered'].map((name) =>
        lab.failPull(lab.deploymentPod(name), NOT_FOUND),
      );
      await lab.waitForShipped(4, same!, changed!, deleted!, recovered!);
      const listsBefore = lab.api.requestsFor('pods', 'list').length;

      // The connection drops; while the forwarder is away the cluster moves on and history is compacted.
      lab.api.disconnectWatches({ abrupt: true });
      lab.failPull(changed!, UNAUTHORIZED);
      lab.api.remove('pods', 'shop', deleted!.metadata.name);
      lab.start_(recovered!);
      const added = lab.failPull(lab.deploymentPod('added'), NOT_FOUND);
      lab.backOff(same!);
      lab.api.compact();

      await lab.waitForShipped(8, same!, changed!, deleted!, recovered!, added);
      await lab.settle();
      expect(lab.api.requestsFor('pods', 'list').length).toBeGreaterThan(listsBefore);
      expect(lab.shipped(same!)).toHaveLength(1);
      expect(lab.shipped(changed!, deleted!, recovered!, added).slice(3).sort()).toEqual(
        [
          `ImagePullFailed ${changed!.metadata.name} 401`,
          `ImagePullRecovered ${deleted!.metadata.name} pod-deleted`,
          `ImagePullRecovered ${recovered!.metadata.name} started`,
          `ImagePullFailed ${added.metadata.name} not-found`,
        ].sort(),
      );
      expect(
        await metric(handle.metricsPort, 'pullwatch_watch_restarts_total{informer="pods",cause="error"}'),
      ).toBeGreaterThan(0);
    },
  );

  it('a graceful end of the stream resumes from the last resourceVersion without re-shipping', async () => {
    await lab.forwarder();
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    await lab.waitForShipped(1, web);
    const watches = lab.api.requestsFor('pods', 'watch').length;
    lab.api.disconnectWatches();
    await lab.api.waitForWatches('pods');
    lab.backOff(web);
    await lab.settle();
    expect(lab.api.requestsFor('pods', 'watch').length).toBeGreaterThan(watches);
    expect(lab.api.requestsFor('pods', 'watch').at(-1)?.query.resourceVersion).not.toBe('');
    expect(lab.shipped(web)).toHaveLength(1);
  });

  it('after a restart of the forwarder, ships only what changed while it was down', async () => {
    const first = await lab.forwarder();
    const [same, changed, deleted, recovered] = ['same', 'changed', 'deleted', 'recovered'].map((name) =>
      lab.failPull(lab.deploymentPod(name), NOT_FOUND),
    );
    await lab.waitForShipped(4, same!, changed!, deleted!, recovered!);
    expect(await lab.stopForwarder(first)).toEqual({ unsent: 0 });

    // While no forwarder runs:
    lab.backOff(same!);
    lab.failPull(changed!, UNAUTHORIZED);
    lab.api.remove('pods', 'shop', deleted!.metadata.name);
    lab.start_(recovered!);
    const added = lab.failPull(lab.deploymentPod('added'), NOT_FOUND);
    const before = lab.bus.events.length;

    await lab.forwarder();
    await lab.waitForShipped(8, same!, changed!, deleted!, recovered!, added);
    await lab.settle();
    const after = lab.bus.events.slice(before).filter((event) => event.detailType !== 'ForwarderHeartbeat');
    expect(
      after
        .map((event) =>
          `${event.detailType} ${String(event.detail.pod)} ${String(event.detail.recovery ?? '')}`.trim(),
        )
        .slice(0, 4)
        .sort(),
    ).toEqual(
      [
        `ImagePullFailed ${changed!.metadata.name}`,
        `ImagePullRecovered ${deleted!.metadata.name} pod-deleted`,
        `ImagePullRecovered ${recovered!.metadata.name} started`,
        `ImagePullFailed ${added.metadata.name}`,
      ].sort(),
    );
    expect(lab.shipped(same!)).toHaveLength(1);
  });

  it('restarts a watch that fails with 5xx, with back-off, and keeps shipping', async () => {
    const handle = await lab.forwarder();
    lab.api.failNext('pods', 'watch', 500, 3);
    lab.api.disconnectWatches({ resource: 'pods', abrupt: true });
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    await lab.waitForShipped(1, web);
    expect(
      await metric(handle.metricsPort, 'pullwatch_watch_restarts_total{informer="pods",cause="error"}'),
    ).toBeGreaterThanOrEqual(4);
    expect(lab.logs.some((line) => line.msg === 'watch failed; restarting' && line.statusCode === 500)).toBe(
      true,
    );
  });

  it('restarts a watch that went silent (watchdog)', async () => {
    const handle = await lab.forwarder({}, { stallAfterMs: 300 });
    lab.api.stalled.add('pods');
    lab.api.disconnectWatches({ resource: 'pods' });
    await lab.api.waitForWatches('pods');
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    lab.api.stalled.delete('pods');
    await lab.waitForShipped(1, web);
    expect(
      await metric(handle.metricsPort, 'pullwatch_watch_restarts_total{informer="pods",cause="stalled"}'),
    ).toBeGreaterThan(0);
  });
});

describe('scope and selectors', () => {
  it('watches pods and only Warning pod events, with server-side field selectors, skipping excluded namespaces', async () => {
    await lab.forwarder({ PULLWATCH_EXCLUDE_NAMESPACES: 'kube-system' });
    const system = lab.failPull(lab.deploymentPod('coredns', { namespace: 'kube-system' }), NOT_FOUND);
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    await lab.waitForShipped(1, web);
    await lab.settle();
    expect(lab.shipped(system)).toEqual([]);
    expect(lab.api.requestsFor('pods', 'watch')[0]?.query.fieldSelector).toBe(
      'metadata.namespace!=kube-system',
    );
    expect(
      lab.api
        .requestsFor('events', 'list')
        .map((request) => request.query.fieldSelector)
        .sort(),
    ).toEqual([
      'type=Warning,involvedObject.kind=Pod,reason=Failed,metadata.namespace!=kube-system',
      'type=Warning,involvedObject.kind=Pod,reason=FailedToRetrieveImagePullSecret,metadata.namespace!=kube-system',
    ]);
    expect(
      lab.api.requestsFor('events', 'watch').every((request) => request.query.timeoutSeconds === '30'),
    ).toBe(true);
  });

  it('watches only the listed namespaces', async () => {
    await lab.forwarder({ PULLWATCH_NAMESPACES: 'shop' });
    const other = lab.failPull(lab.deploymentPod('api', { namespace: 'payments' }), NOT_FOUND);
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    await lab.waitForShipped(1, web);
    await lab.settle();
    expect(lab.shipped(other)).toEqual([]);
    expect(lab.api.requests.every((request) => request.verb === 'get' || request.namespace === 'shop')).toBe(
      true,
    );
  });
});

describe('shipping under load and faults', () => {
  it('ships a storm in full batches of at most 10, oversized messages truncated', async () => {
    const pods = Array.from({ length: 45 }, (_, i) => lab.deploymentPod(`svc${i % 5}`));
    const huge = `${NOT_FOUND} ${'x'.repeat(20_000)}`;
    pods.forEach((pod, i) => lab.failPull(pod, i === 0 ? huge : NOT_FOUND));
    await lab.forwarder({}, { lingerMs: 200 });
    await lab.waitForShipped(45, ...pods);
    const calls = lab.bus.calls.filter((call) => call.status === 200);
    expect(calls.every((call) => call.entries <= 10)).toBe(true);
    expect(lab.bus.events.length / calls.length).toBeGreaterThanOrEqual(9);
    const truncated = lab.bus.events.find((event) => event.detail.pod === pods[0]?.metadata.name)?.detail;
    expect(truncated).toMatchObject({ messageTruncated: true });
    expect(Buffer.byteLength(String(truncated?.message))).toBeLessThanOrEqual(8192);
  });

  it('delivers every event exactly once through throttling, 5xx and partial failures', async () => {
    await lab.forwarder({}, { lingerMs: 50 });
    lab.bus.inject(
      { kind: 'fail-entries', positions: [0, 2, 4], errorCode: 'ThrottlingException' },
      { kind: 'throttle' },
      { kind: 'server-error' },
      { kind: 'server-error' },
      { kind: 'fail-entries', positions: [1], errorCode: 'InternalFailure' },
    );
    const pods = Array.from({ length: 12 }, (_, i) => lab.failPull(lab.deploymentPod(`app${i}`), NOT_FOUND));
    await lab.waitForShipped(12, ...pods);
    await lab.settle();
    const names = lab.bus.events
      .filter((event) => event.detailType === 'ImagePullFailed')
      .map((event) => event.detail.pod);
    expect(new Set(names).size).toBe(names.length);
    for (const pod of pods) expect(lab.shipped(pod)).toHaveLength(1);
    expect(lab.bus.calls.some((call) => call.failedEntries > 0)).toBe(true);
  });

  it('sends heartbeats with the number of containers failing now', async () => {
    const a = lab.failPull(lab.deploymentPod('a'), NOT_FOUND);
    lab.failPull(lab.deploymentPod('b'), NOT_FOUND);
    await lab.forwarder({}, { heartbeatMs: 100 });
    await lab.bus.waitFor((events) => events.some((event) => event.detailType === 'ForwarderHeartbeat'));
    expect(lab.bus.ofType('ForwarderHeartbeat')[0]?.detail).toMatchObject({
      cluster: 'lab',
      failingContainers: 2,
      schemaVersion: 1,
    });
    lab.start_(a);
    await lab.bus.waitFor((events) =>
      events.some(
        (event) => event.detailType === 'ForwarderHeartbeat' && event.detail.failingContainers === 1,
      ),
    );
  });
});

describe('operations', () => {
  it('serves /readyz, /healthz and Prometheus /metrics', async () => {
    const handle = await lab.forwarder();
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    await lab.waitForShipped(1, web);
    const base = `http://127.0.0.1:${handle.metricsPort}`;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', problems: [] });
    expect(
      await metric(handle.metricsPort, 'pullwatch_events_shipped_total{detail_type="ImagePullFailed"}'),
    ).toBe(1);
    expect(await metric(handle.metricsPort, 'pullwatch_observations_total{kind="failed"}')).toBe(1);
    expect(await metric(handle.metricsPort, 'pullwatch_failing_containers')).toBe(1);
    expect(await metric(handle.metricsPort, 'pullwatch_queue_depth')).toBe(0);
    expect(await metric(handle.metricsPort, 'pullwatch_put_events_calls_total')).toBeGreaterThan(0);
  });

  it('fails /healthz when the watch cannot reconnect for too long, and recovers', async () => {
    const handle = await lab.forwarder({}, { stallAfterMs: 150 });
    lab.api.failNext('pods', 'watch', 503, 10_000);
    lab.api.failNext('pods', 'list', 503, 10_000);
    lab.api.disconnectWatches({ resource: 'pods', abrupt: true });
    const until = Date.now() + 5000;
    while (handle.healthz().ok && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 20));
    const failing = await fetch(`http://127.0.0.1:${handle.metricsPort}/healthz`);
    expect(failing.status).toBe(503);
    expect(JSON.stringify(await failing.json())).toContain(
      'pods (all namespaces): no list or watch activity',
    );
    lab.api.clearFaults();
    const web = lab.failPull(lab.deploymentPod('web'), NOT_FOUND);
    await lab.waitForShipped(1, web);
    expect(handle.healthz().ok).toBe(true);
  });

  it('logs JSON lines without credentials', async () => {
    const handle = await lab.forwarder();
    await lab.stopForwarder(handle);
    const text = JSON.stringify(lab.logs);
    expect(lab.logs.every((line) => typeof line.time === 'string' && typeof line.level === 'string')).toBe(
      true,
    );
    expect(text).not.toContain(process.env.AWS_SECRET_ACCESS_KEY ?? 'unset');
    expect(text).not.toContain('fake-token');
  });
});
