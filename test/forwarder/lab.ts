/**
 * A forwarder between real protocol peers: the fake Kubernetes API server and the fake EventBridge
 * endpoint, with the real @kubernetes/client-node and @aws-sdk/client-eventbridge in between.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AcceptedEvent, FakeEventBridge } from '../support/fake-eventbridge';
import {
  FakeKubeApi,
  type KubeObject,
  podEvent,
  podObject,
  setContainerState,
} from '../support/fake-kube-api';
import { type ForwarderHandle, type ForwarderTuning, runForwarder } from '../../forwarder/main';
import { jsonLogger } from '../../forwarder/log';

// The SDK's default credential chain reads these (dummy, static).
process.env.AWS_ACCESS_KEY_ID = 'AKIDPULLWATCHTEST';
process.env.AWS_SECRET_ACCESS_KEY = 'pullwatch-test-secret';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const TEST_TUNING: ForwarderTuning = {
  watchTimeoutSeconds: 30,
  restartBaseMs: 20,
  restartMaxMs: 100,
  lingerMs: 5,
  retryBaseMs: 10,
  retryMaxMs: 100,
  checkpointIntervalMs: 20,
  metricsHost: '127.0.0.1',
  sdkMaxAttempts: 2,
};

export const IMAGE = 'registry.example.com/shop/web:1.4.2';
export const NOT_FOUND = `rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": not found`;
export const UNAUTHORIZED = `rpc error: code = Unknown desc = failed to authorize: failed to fetch anonymous token: 401 Unauthorized`;
export const BACK_OFF = `Back-off pulling image "${IMAGE}"`;

export class Lab {
  readonly api = new FakeKubeApi();
  readonly bus = new FakeEventBridge();
  readonly dir = mkdtempSync(join(tmpdir(), 'pullwatch-forwarder-'));
  readonly stateFile = join(this.dir, 'state', 'checkpoint.json');
  readonly logs: Array<Record<string, unknown>> = [];
  private kubeconfig = '';
  private readonly running = new Set<ForwarderHandle>();

  async start(): Promise<this> {
    await this.api.start();
    await this.bus.start();
    this.kubeconfig = this.api.writeKubeconfig(this.dir);
    return this;
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PULLWATCH_CLUSTER: 'lab',
      PULLWATCH_EVENT_BUS: 'pullwatch-lab',
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL_EVENTBRIDGE: this.bus.endpoint,
      KUBECONFIG: this.kubeconfig,
      PULLWATCH_METRICS_PORT: '0',
      PULLWATCH_HEARTBEAT_SECONDS: '3600',
      PULLWATCH_STATE_FILE: this.stateFile,
      PULLWATCH_FLUSH_SECONDS: '5',
      ...extra,
    };
  }

  /** Starts a forwarder and waits until it has listed everything. */
  async forwarder(
    extraEnv: Record<string, string> = {},
    tuning: ForwarderTuning = {},
  ): Promise<ForwarderHandle> {
    const log = jsonLogger((line) => this.logs.push(JSON.parse(line) as Record<string, unknown>), 'debug');
    const handle = await runForwarder(this.env(extraEnv), { log, tuning: { ...TEST_TUNING, ...tuning } });
    this.running.add(handle);
    const until = Date.now() + 10_000;
    while (!handle.readyz().ok) {
      if (Date.now() > until) throw new Error(`forwarder not ready: ${JSON.stringify(handle.healthz())}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return handle;
  }

  async stopForwarder(handle: ForwarderHandle): Promise<{ unsent: number }> {
    this.running.delete(handle);
    return handle.stop();
  }

  async stop(): Promise<void> {
    for (const handle of [...this.running]) await this.stopForwarder(handle);
    await this.api.stop();
    await this.bus.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ------------------------------------------------------------------------------------------
  // Cluster scripting

  /** A Deployment's pod: ReplicaSet `<deployment>-5d8f7c9b6` owned by the Deployment, and its pod. */
  deploymentPod(
    deployment: string,
    options: { namespace?: string; annotations?: Record<string, string> } = {},
  ): KubeObject {
    const namespace = options.namespace ?? 'shop';
    const hash = '5d8f7c9b6';
    const replicaSet = `${deployment}-${hash}`;
    if (!this.api.get('replicasets', namespace, replicaSet)) {
      this.api.apply('replicasets', {
        metadata: {
          name: replicaSet,
          namespace,
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment, uid: 'd-uid', controller: true },
          ],
        },
      });
    }
    return this.api.apply(
      'pods',
      podObject({
        name: `${replicaSet}-${Math.random().toString(36).slice(2, 7)}`,
        namespace,
        image: IMAGE,
        container: 'web',
        owner: { kind: 'ReplicaSet', name: replicaSet },
        labels: { app: deployment, 'pod-template-hash': hash },
        annotations: options.annotations ?? {},
        pullSecrets: ['regcred'],
        serviceAccount: deployment,
      }),
    );
  }

  /** The kubelet fails to pull: ErrImagePull with the error, and its `Failed to pull image` event. */
  failPull(pod: KubeObject, error: string, container = 'web'): KubeObject {
    const { namespace = '', name } = pod.metadata;
    const updated = this.api.update('pods', namespace, name, (object) =>
      setContainerState(object, container, { waiting: { reason: 'ErrImagePull', message: error } }),
    );
    this.api.apply(
      'events',
      podEvent({
        pod: updated,
        container,
        reason: 'Failed',
        message: `Failed to pull image "${IMAGE}": ${error}`,
      }),
    );
    return updated;
  }

  /** The kubelet backs off: ImagePullBackOff with the bare line (and an "Error:" event). */
  backOff(pod: KubeObject, container = 'web'): KubeObject {
    const { namespace = '', name } = pod.metadata;
    const updated = this.api.update('pods', namespace, name, (object) =>
      setContainerState(object, container, { waiting: { reason: 'ImagePullBackOff', message: BACK_OFF } }),
    );
    this.api.apply(
      'events',
      podEvent({ pod: updated, container, reason: 'Failed', message: 'Error: ImagePullBackOff' }),
    );
    return updated;
  }

  start_(pod: KubeObject, container = 'web'): KubeObject {
    const { namespace = '', name } = pod.metadata;
    return this.api.update('pods', namespace, name, (object) =>
      setContainerState(object, container, { running: {} }),
    );
  }

  // ------------------------------------------------------------------------------------------
  // Bus assertions

  /** "detail-type pod [recovery]" lines of pull events about these pods, in arrival order. */
  shipped(...pods: KubeObject[]): string[] {
    const names = new Set(pods.map((pod) => pod.metadata.name));
    return this.bus.events
      .filter((event) => event.detailType !== 'ForwarderHeartbeat' && names.has(String(event.detail.pod)))
      .map(describe);
  }

  async waitForShipped(count: number, ...pods: KubeObject[]): Promise<void> {
    const names = new Set(pods.map((pod) => pod.metadata.name));
    await this.bus.waitFor(
      (events) => events.filter((event) => names.has(String(event.detail.pod))).length >= count,
      10_000,
      `${count} event(s) about ${[...names].join(', ')}`,
    );
  }

  /**
   * Proves the forwarder has caught up with everything done so far: a fresh pod fails (through
   * both the pod watch and the event watch) and its failure reaches the bus.
   */
  async settle(): Promise<void> {
    const sentinel = this.deploymentPod(`sentinel${Math.random().toString(36).slice(2, 6)}`);
    this.backOff(sentinel);
    this.api.apply(
      'events',
      podEvent({
        pod: sentinel,
        container: 'web',
        reason: 'Failed',
        message: `Failed to pull image "${IMAGE}": sentinel`,
      }),
    );
    await this.bus.waitFor(
      (events) =>
        events.some(
          (event) =>
            event.detail.pod === sentinel.metadata.name && String(event.detail.message).endsWith('sentinel'),
        ),
      10_000,
      'the sentinel',
    );
  }
}

const describe = (event: AcceptedEvent): string => {
  const detail = event.detail as { pod?: string; recovery?: string; message?: string };
  const text = detail.message?.includes('401')
    ? '401'
    : detail.message?.includes('NotFound')
      ? 'not-found'
      : '';
  return [event.detailType, detail.pod, detail.recovery ?? text].filter(Boolean).join(' ');
};
