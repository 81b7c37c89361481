import { diagnose } from '#shared/diagnosis/diagnose';
import { DEFAULT_WINDOWS, type Incident, absorb, newIncident } from '#shared/incident';
import { incidentKeyOf, keyIdOf } from '#shared/incident-key';
import {
  MAX_STORM_MEMBERS,
  type StormBucket,
  acceptsJoins,
  isStorm,
  memberChanged,
  parseStormId,
  placementOf,
  stormGroupIdOf,
  stormGroupOf,
  stormIdOf,
  stormMemberOf,
} from '#shared/incident-storm';
import { stormBucketOf } from '../support/storm-bucket';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MESSAGE = 'Failed to pull image "nginx:1.27": toomanyrequests: You have reached your pull rate limit.';
const windows = { ...DEFAULT_WINDOWS, stormThreshold: 3, stormWindowMs: 120_000, stormHoldMs: 30_000 };

const incident = (workload: string, cluster = 'prod'): Incident => {
  const verdict = diagnose({ reason: 'ErrImagePull', message: MESSAGE, image: 'nginx:1.27' });
  const key = incidentKeyOf(
    {
      cluster,
      namespace: 'shop',
      workload: { kind: 'Deployment', name: workload },
      container: 'app',
      image: 'nginx:1.27',
    },
    verdict.cause,
  );
  return absorb(
    newIncident(keyIdOf(key), 1, key),
    {
      kind: 'failed',
      key,
      podUid: `uid-${workload}`,
      pod: `${workload}-1`,
      node: 'node-1',
      containerType: 'regular',
      reason: 'ErrImagePull',
      message: MESSAGE,
      firstSeen: T0,
      lastSeen: T0,
      count: 1,
      observedAt: T0,
      annotations: {},
      verdict,
    },
    DEFAULT_WINDOWS,
  );
};

const bucketWith = (members: number, openedAt = T0): StormBucket =>
  stormBucketOf(
    Array.from({ length: members }, (_, i) => incident(`svc-${i}`)),
    { openedAt, spacingMs: 1000, windows },
  );

describe('storm groups', () => {
  it('are one cluster, cause, registry and channel', () => {
    const a = stormGroupOf(incident('a'), '#alerts')!;
    expect(a).toEqual({ cluster: 'prod', cause: 'rate-limited', registry: 'docker.io', channel: 'alerts' });
    expect(stormGroupIdOf(a)).toBe(stormGroupIdOf(stormGroupOf(incident('b'), 'alerts')!));
    expect(stormGroupIdOf(a)).not.toBe(stormGroupIdOf(stormGroupOf(incident('a'), '#platform')!));
    expect(stormGroupIdOf(a)).not.toBe(stormGroupIdOf(stormGroupOf(incident('a', 'staging'), '#alerts')!));
    expect(stormGroupOf(newIncident('pw-x', 1, incident('a').key), '#alerts')).toBeUndefined();
  });

  it('number their buckets in ids people can read back', () => {
    const ref = { groupId: stormGroupIdOf(stormGroupOf(incident('a'), 'alerts')!), seq: 12 };
    expect(stormIdOf(ref)).toMatch(/^sg-[0-9a-z]{12}\.12$/);
    expect(parseStormId(stormIdOf(ref))).toEqual(ref);
    expect(parseStormId('sg-x.1')).toBeUndefined();
  });
});

describe('a bucket', () => {
  it('holds each first post for the hold after its join, then threads a storm and posts the rest at the top level', () => {
    /** Where the `nth` member (0-based) of a bucket of `members` posts at `at`. */
    const placed = (members: number, nth: number, at: number) => {
      const bucket = bucketWith(members);
      return placementOf(bucket, Object.values(bucket.members)[nth]!.joinedAt, at);
    };
    expect(placed(5, 0, T0 + 29_999)).toEqual({ kind: 'hold', until: T0 + 30_000 });
    expect(placed(5, 0, T0 + 30_000)).toEqual({ kind: 'thread' });
    expect(placed(2, 0, T0 + 30_000)).toEqual({ kind: 'top-level' });
    // The second joined a second later: without a storm yet, it waits its own hold.
    expect(placed(2, 1, T0 + 30_000)).toEqual({ kind: 'hold', until: T0 + 31_000 });
    expect(placed(2, 1, T0 + 31_000)).toEqual({ kind: 'top-level' });
    // Once a storm has been decided, members are threaded at once.
    expect(placed(3, 1, T0 + 30_000)).toEqual({ kind: 'thread' });
    expect(isStorm(bucketWith(3))).toBe(true);
  });

  it('takes members for the storm window, and a storm for the window after its latest join', () => {
    const quiet = bucketWith(2);
    expect(acceptsJoins(quiet, T0 + 120_000)).toBe(true);
    expect(acceptsJoins(quiet, T0 + 120_001)).toBe(false);
    const storm = bucketWith(3);
    expect(storm.lastJoinAt).toBe(T0 + 2000);
    expect(acceptsJoins(storm, T0 + 122_000)).toBe(true);
    expect(acceptsJoins(storm, T0 + 122_001)).toBe(false);
    expect(acceptsJoins({ ...storm, memberCount: MAX_STORM_MEMBERS }, T0 + 1000)).toBe(false);
  });

  it('keeps a member’s newest state only', () => {
    const member = stormMemberOf(incident('svc-0'), 3, T0);
    const resolved = { ...member, status: 'resolved' as const, failingContainers: 0, version: 4 };
    expect(memberChanged(member, resolved)).toBe(true);
    expect(memberChanged(resolved, { ...member, version: 3 })).toBe(false);
    expect(memberChanged(member, { ...member, version: 4 })).toBe(false);
    expect(memberChanged(undefined, resolved)).toBe(false);
  });
});
