/** One complete ImagePullFailed detail, as the forwarder ships it: the base the contract tests vary. */
import { type FailedDetail, SCHEMA_VERSION } from '#shared/contract';

export const failedDetail: FailedDetail = {
  schemaVersion: SCHEMA_VERSION,
  cluster: 'prod-eu',
  namespace: 'shop',
  pod: 'web-7d9c6b5f4-x2x9z',
  podUid: '0b6f4a52-4a4e-4c5f-9f1e-6f0e0c1a2b3c',
  container: 'web',
  containerType: 'regular',
  image: 'nginx:1.27-alpin',
  reason: 'ErrImagePull',
  message: 'Failed to pull image "nginx:1.27-alpin": rpc error: code = NotFound desc = not found',
  messageTruncated: false,
  node: 'ip-10-0-1-23.eu-west-1.compute.internal',
  workload: { kind: 'Deployment', name: 'web' },
  pullSecrets: ['regcred'],
  serviceAccount: 'default',
  annotations: { 'pullwatch.io/slack-channel': '#shop-alerts' },
  firstSeen: '2026-03-01T10:00:00.000Z',
  lastSeen: '2026-03-01T10:05:00.000Z',
  count: 4,
  observedAt: '2026-03-01T10:05:01.000Z',
};
