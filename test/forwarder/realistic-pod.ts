/**
 * A pod object the size and shape of a real one: an app container and two sidecars with env, ports,
 * probes, resources and mounts, an init container, projected and configMap volumes, tolerations,
 * conditions and managedFields. Used to measure what the forwarder keeps per pod.
 */
import type { KubeObject } from '../support/fake-kube-api';

export interface RealisticPodOptions {
  name: string;
  namespace: string;
  image: string;
  node: string;
  /** The owning ReplicaSet (with its pod-template-hash suffix); a bare pod when absent. */
  replicaSet?: { name: string; hash: string };
  /** Approximate JSON size to reach, in bytes (env variables are added until it is reached). */
  bytes?: number;
}

const sidecar = (name: string, image: string, port: number) => ({
  name,
  image,
  imagePullPolicy: 'IfNotPresent',
  args: ['--log-level=info', `--port=${port}`, '--metrics'],
  ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }],
  env: [
    { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } } },
  ],
  resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
  readinessProbe: { httpGet: { path: '/ready', port, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1 },
  volumeMounts: [
    { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
  ],
});

const runningStatus = (name: string, image: string, index: number) => ({
  name,
  image,
  imageID: `${image.split(':')[0]}@sha256:${index.toString(16).padStart(64, 'a')}`,
  containerID: `containerd://${index.toString(16).padStart(64, 'c')}`,
  ready: true,
  started: true,
  restartCount: 0,
  state: { running: { startedAt: '2026-11-30T08:00:00Z' } },
  lastState: {},
});

const managedFields = (manager: string, fields: number) => ({
  manager,
  operation: 'Update',
  apiVersion: 'v1',
  time: '2026-11-30T08:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: Object.fromEntries(
    Array.from({ length: fields }, (_, i) => [`f:field-${i}`, { '.': {}, 'f:name': {}, 'f:value': {} }]),
  ),
});

/** A running pod of a Deployment, of about `bytes` bytes of JSON (6,000 by default). */
export const realisticPod = (options: RealisticPodOptions): KubeObject => {
  const hash = options.replicaSet?.hash ?? 'bare';
  const app = {
    ...sidecar('app', options.image, 8080),
    args: ['serve', '--config=/etc/app/config.yaml'],
    env: [] as Array<Record<string, unknown>>,
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, periodSeconds: 10 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/app' },
      { name: 'cache', mountPath: '/var/cache/app' },
      { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true },
    ],
  };
  const pod: KubeObject = {
    metadata: {
      name: options.name,
      generateName: options.replicaSet === undefined ? undefined : `${options.replicaSet.name}-`,
      namespace: options.namespace,
      labels: {
        app: options.name.split('-')[0] ?? 'app',
        'app.kubernetes.io/part-of': 'shop',
        'app.kubernetes.io/version': '2.14.1',
        'pod-template-hash': hash,
        'security.istio.io/tlsMode': 'istio',
      },
      annotations: {
        'checksum/config': 'f3a9c1e0b7d24c5e8a6f0b1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e',
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9090',
        'kubectl.kubernetes.io/restartedAt': '2026-11-29T17:00:00Z',
        'pullwatch.io/slack-channel': '#shop-alerts',
      },
      ...(options.replicaSet === undefined
        ? {}
        : {
            ownerReferences: [
              {
                apiVersion: 'apps/v1',
                kind: 'ReplicaSet',
                name: options.replicaSet.name,
                uid: '7f0c1d2e-3a4b-4c5d-8e6f-0a1b2c3d4e5f',
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }),
      managedFields: [managedFields('kube-controller-manager', 4), managedFields('kubelet', 3)],
    },
    spec: {
      nodeName: options.node,
      serviceAccountName: 'shop-app',
      imagePullSecrets: [{ name: 'regcred' }],
      initContainers: [{ name: 'migrate', image: options.image, args: ['migrate', '--wait'] }],
      containers: [
        app,
        sidecar('istio-proxy', 'docker.io/istio/proxyv2:1.24.1', 15090),
        sidecar('log-shipper', 'cr.fluentbit.io/fluent/fluent-bit:3.2.2', 2020),
      ],
      volumes: [
        { name: 'config', configMap: { name: 'shop-config', defaultMode: 420 } },
        { name: 'cache', emptyDir: { sizeLimit: '1Gi' } },
        {
          name: 'kube-api-access',
          projected: {
            defaultMode: 420,
            sources: [
              { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              {
                downwardAPI: {
                  items: [
                    { path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
                  ],
                },
              },
            ],
          },
        },
      ],
      tolerations: [
        {
          key: 'node.kubernetes.io/not-ready',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
        {
          key: 'node.kubernetes.io/unreachable',
          operator: 'Exists',
          effect: 'NoExecute',
          tolerationSeconds: 300,
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      securityContext: { fsGroup: 1000, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
      priority: 0,
    },
    status: {
      phase: 'Running',
      hostIP: '10.0.12.34',
      podIP: '10.244.7.21',
      podIPs: [{ ip: '10.244.7.21' }],
      startTime: '2026-11-30T07:59:50Z',
      qosClass: 'Burstable',
      conditions: [
        'PodReadyToStartContainers',
        'Initialized',
        'Ready',
        'ContainersReady',
        'PodScheduled',
      ].map((type) => ({
        type,
        status: 'True',
        lastProbeTime: null,
        lastTransitionTime: '2026-11-30T08:00:00Z',
      })),
      initContainerStatuses: [
        {
          ...runningStatus('migrate', options.image, 1),
          ready: true,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-11-30T07:59:55Z' } },
        },
      ],
      containerStatuses: [
        runningStatus('app', options.image, 2),
        runningStatus('istio-proxy', 'docker.io/istio/proxyv2:1.24.1', 3),
        runningStatus('log-shipper', 'cr.fluentbit.io/fluent/fluent-bit:3.2.2', 4),
      ],
    },
  };
  const target = options.bytes ?? 6000;
  let size = JSON.stringify(pod).length;
  for (let i = 0; size < target; i++) {
    const variable = { name: `FEATURE_FLAG_${i}`, value: `enabled-for-tenant-${i}-${options.namespace}` };
    app.env.push(variable);
    size += JSON.stringify(variable).length + 1;
  }
  return pod;
};
