import type { PodLike } from '../../forwarder/kube-objects';
import { resolveWorkload } from '../../forwarder/workload-resolution';

describe('workload resolution', () => {
  const withOwner = (kind: string, name: string, labels: Record<string, string> = {}): PodLike => ({
    metadata: {
      name: `${name}-abcde`,
      namespace: 'shop',
      labels,
      ownerReferences: [{ kind, name, controller: true }],
    },
  });

  it('follows a ReplicaSet to its Deployment', () => {
    const lookup = (kind: string, namespace: string, name: string) =>
      kind === 'ReplicaSet' && namespace === 'shop' && name === 'web-7d9c6b5f4'
        ? [{ kind: 'Deployment', name: 'web', controller: true }]
        : undefined;
    expect(resolveWorkload(withOwner('ReplicaSet', 'web-7d9c6b5f4'), lookup)).toEqual({
      kind: 'Deployment',
      name: 'web',
    });
  });

  it('strips the pod-template-hash when the ReplicaSet is not known (documented fallback)', () => {
    const subject = withOwner('ReplicaSet', 'web-api-7d9c6b5f4', { 'pod-template-hash': '7d9c6b5f4' });
    expect(resolveWorkload(subject, () => undefined)).toEqual({ kind: 'Deployment', name: 'web-api' });
  });

  it('keeps a ReplicaSet without owner, and one without a matching hash', () => {
    expect(resolveWorkload(withOwner('ReplicaSet', 'bare-rs'), () => [])).toEqual({
      kind: 'ReplicaSet',
      name: 'bare-rs',
    });
    expect(resolveWorkload(withOwner('ReplicaSet', 'odd'), () => undefined)).toEqual({
      kind: 'ReplicaSet',
      name: 'odd',
    });
  });

  it('follows a Job to its CronJob, and keeps a Job that has none or is unknown', () => {
    const cron = () => [{ kind: 'CronJob', name: 'nightly', controller: true }];
    expect(resolveWorkload(withOwner('Job', 'nightly-2901234'), cron)).toEqual({
      kind: 'CronJob',
      name: 'nightly',
    });
    expect(resolveWorkload(withOwner('Job', 'once'), () => [])).toEqual({ kind: 'Job', name: 'once' });
    expect(resolveWorkload(withOwner('Job', 'once'), () => undefined)).toEqual({ kind: 'Job', name: 'once' });
  });

  it('names StatefulSets, DaemonSets and bare pods directly', () => {
    const never = () => {
      throw new Error('no lookup needed');
    };
    expect(resolveWorkload(withOwner('StatefulSet', 'db'), never)).toEqual({
      kind: 'StatefulSet',
      name: 'db',
    });
    expect(resolveWorkload(withOwner('DaemonSet', 'agent'), never)).toEqual({
      kind: 'DaemonSet',
      name: 'agent',
    });
    expect(resolveWorkload({ metadata: { name: 'debug-shell' } }, never)).toEqual({
      kind: 'Pod',
      name: 'debug-shell',
    });
  });
});
