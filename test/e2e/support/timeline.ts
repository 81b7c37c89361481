/**
 * The e2e test's cluster, compressed into seconds: several workloads and causes, a storm, a fix
 * rolled out, a registry that comes back. Built with the recordings' builder, from real texts.
 */
import type { Recording } from '../../../local/recording';
import {
  ClusterRecorder,
  type PodHandle,
  STARTED_AT,
  TEXTS,
  failRepeatedly,
} from '../../fixtures/recordings/scenarios';

export const STORM = [
  { namespace: 'shop', name: 'cart', image: 'redis:7.2' },
  { namespace: 'shop', name: 'search', image: 'elasticsearch:8.12.2' },
  { namespace: 'payments', name: 'ledger', image: 'postgres:16.2' },
  { namespace: 'platform', name: 'ingress-proxy', image: 'nginx:1.27' },
  { namespace: 'platform', name: 'metrics-relay', image: 'busybox:1.36' },
  { namespace: 'data', name: 'etl-worker', image: 'bitnami/kafka:3.7' },
] as const;

/** When each act happens (seconds after the start). */
export const ACTS = {
  tagTypo: 0,
  privateRegistry: 2,
  storm: 4,
  outage: 7,
  outageEnds: 10,
  typoFixed: 12,
  end: 15,
} as const;

export const e2eTimeline = (): Recording => {
  const cluster = new ClusterRecorder(STARTED_AT, 'e2e');
  const fast = { firstBackOffSeconds: 2, spreadSeconds: 0.1 };

  // A tag typo in deployment/web: two replicas fail, back off, fail again… until a fixed rollout.
  const web = cluster
    .at(ACTS.tagTypo)
    .deployment({ namespace: 'shop', name: 'web', image: 'nginx:1.27-alpin', replicas: 2 });
  failRepeatedly(
    cluster,
    web,
    ACTS.tagTypo + 0.5,
    ACTS.typoFixed - 1,
    (pod) => cluster.failPull(pod, TEXTS.notFound(pod.image)),
    fast,
  );

  // A private registry without its pull secret: keeps failing.
  const billing = cluster.at(ACTS.privateRegistry).deployment({
    namespace: 'payments',
    name: 'billing-api',
    container: 'api',
    image: 'acmeprod.azurecr.io/payments/billing-api:2.3.1',
    replicas: 1,
    pullSecrets: ['acr-pull'],
  });
  failRepeatedly(
    cluster,
    billing,
    ACTS.privateRegistry + 0.5,
    ACTS.end,
    (pod) => {
      cluster.secretWarning(pod, ['acr-pull']);
      cluster.failPull(pod, TEXTS.anonymousToken401(pod.image));
    },
    fast,
  );

  // A Docker Hub rate-limit storm across six workloads.
  const storm: PodHandle[] = [];
  cluster.at(ACTS.storm);
  for (const workload of STORM)
    storm.push(...cluster.deployment({ ...workload, container: workload.name, replicas: 1 }));
  failRepeatedly(
    cluster,
    storm,
    ACTS.storm + 0.5,
    ACTS.end,
    (pod) => cluster.failPull(pod, TEXTS.rateLimited(pod.image)),
    fast,
  );

  // A registry outage that ends: 503, then the pull succeeds.
  const orders = cluster.at(ACTS.outage).deployment({
    namespace: 'orders',
    name: 'orders-api',
    container: 'api',
    image: 'harbor.acme.internal/orders/orders-api:4.1.0',
    replicas: 1,
  });
  failRepeatedly(
    cluster,
    orders,
    ACTS.outage + 0.5,
    ACTS.outageEnds - 1,
    (pod) => cluster.failPull(pod, TEXTS.unavailable(pod.image)),
    fast,
  );
  for (const pod of orders) cluster.at(ACTS.outageEnds).start(pod);

  // The typo is fixed: a new ReplicaSet's pods start, the old pods are deleted.
  const fixed = cluster
    .at(ACTS.typoFixed)
    .deployment({ namespace: 'shop', name: 'web', image: 'nginx:1.27-alpine', replicas: 2 });
  for (const pod of fixed) cluster.at(ACTS.typoFixed + 0.3).start(pod);
  for (const pod of web) cluster.at(ACTS.typoFixed + 0.6).delete(pod);

  return cluster.recording({ cluster: 'e2e', description: 'the e2e timeline' });
};
