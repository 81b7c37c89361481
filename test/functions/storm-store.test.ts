/**
 * Storm buckets at 10× the size expected (a fleet-wide outage: every workload of a big cluster in
 * one bucket, up to its cap), against dynalite: joins that race stay exact, no write grows with the
 * storm, member updates land wherever the entry is (the head's last join, or its row).
 */
import {
  MAX_STORM_MEMBERS,
  type StormBucket,
  type StormMember,
  acceptsJoins,
  stormGroupIdOf,
  stormIdOf,
} from '#shared/incident-storm';
import { DEFAULT_WINDOWS } from '#shared/incident';
import { DynamoIncidentStore } from '../../functions/_common/incident-store';
import type { Storms } from '../../functions/_common/storm-store';
import { inParallel } from '../../functions/_common/batch';
import { CapacityMeter } from '../support/capacity-meter';
import { type LocalDynamo, startDynalite } from '../support/dynalite';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const WINDOW = 600_000;
const MEMBERS = Number(process.env.STORM_MEMBERS ?? MAX_STORM_MEMBERS);

let dynamo: LocalDynamo;
let storms: Storms;
let meter: CapacityMeter;
beforeEach(async () => {
  dynamo = await startDynalite();
  const client = dynamo.newClient();
  meter = new CapacityMeter(client);
  storms = new DynamoIncidentStore(client, { tableName: dynamo.tableName, windows: DEFAULT_WINDOWS }).storms;
});
afterEach(() => dynamo.stop());

const member = (n: number, version = 1): StormMember => ({
  incidentId: `pw-m${String(n).padStart(10, '0')}`,
  keyId: `pw-m${String(n).padStart(10, '0')}`,
  generation: 1,
  namespace: `team-${n % 40}`,
  workload: { kind: 'DaemonSet', name: `node-agent-${n}` },
  container: 'agent',
  image: 'registry-1.docker.io/acme/node-agent:3.4.1',
  joinedAt: T0,
  status: 'open',
  failingContainers: 3,
  affectedPods: 3,
  version,
});

const group = {
  cluster: 'prod-eu',
  cause: 'rate-limited' as const,
  registry: 'docker.io',
  channel: 'alerts',
};
const ref = { groupId: stormGroupIdOf(group), seq: 1 };

const open = async (): Promise<void> => {
  const first = member(0);
  const bucket: StormBucket = {
    ref,
    stormId: stormIdOf(ref),
    group,
    title: 'Registry rate limit reached',
    registryName: 'Docker Hub',
    explanation: 'Docker Hub limits anonymous pulls per IP address.',
    docs: 'https://docs.docker.com/docker-hub/usage/',
    threshold: 5,
    windowMs: WINDOW,
    openedAt: T0,
    decideAt: T0 + 30_000,
    lastJoinAt: T0,
    memberCount: 1,
    members: { [first.incidentId]: first },
    version: 1,
  };
  expect(await storms.createStorm(bucket)).toBe(true);
};

/** Joins as notify does: read the head, join, and on a lost race read again. */
const join = async (n: number, at: number): Promise<'joined' | 'refused'> => {
  for (let attempt = 1; attempt <= 200; attempt++) {
    const seen = (await storms.getStormHead(ref, member(n).incidentId))!;
    if (seen.member !== undefined) return 'joined';
    if (!acceptsJoins(seen.head, at)) return 'refused';
    if ((await storms.joinStorm(seen, member(n), at)) !== undefined) return 'joined';
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * Math.min(attempt, 10)));
  }
  throw new Error(`member ${n}: no join after 200 attempts`);
};

describe(`a storm bucket of ${MEMBERS} members`, () => {
  it('counts every racing join exactly once, refuses the one past its cap, and no write grows', async () => {
    await open();
    meter.reset();
    const outcomes = new Map<number, string>();
    await inParallel(
      Array.from({ length: MEMBERS }, (_, i) => i + 1),
      16,
      async (n) => {
        outcomes.set(n, await join(n, T0 + n));
      },
    );
    const joined = [...outcomes.values()].filter((outcome) => outcome === 'joined').length;
    expect(joined).toBe(MAX_STORM_MEMBERS - 1);
    expect(
      [...outcomes.entries()].filter(([, outcome]) => outcome === 'refused').map(([n]) => n),
    ).toHaveLength(MEMBERS - (MAX_STORM_MEMBERS - 1));

    const storm = (await storms.getStorm(ref))!;
    expect(storm.bucket.memberCount).toBe(MAX_STORM_MEMBERS);
    expect(Object.keys(storm.bucket.members)).toHaveLength(MAX_STORM_MEMBERS);
    // Joining again changes nothing (a redelivered event).
    expect(await join(7, T0 + 7)).toBe('joined');
    expect((await storms.getStorm(ref))!.bucket.memberCount).toBe(MAX_STORM_MEMBERS);

    const writes =
      meter.byCommand.get('PutItemCommand')!.calls + meter.byCommand.get('UpdateItemCommand')!.calls;
    process.stdout.write(
      `storm of ${MAX_STORM_MEMBERS}: ${(meter.writeUnits / (MAX_STORM_MEMBERS - 1)).toFixed(2)} WCU and ` +
        `${(meter.readUnits / (MAX_STORM_MEMBERS - 1)).toFixed(2)} RCU per join (${writes} writes, races included), ` +
        `largest write ${meter.largestWriteUnits} WCU\n`,
    );
    expect(meter.largestWriteUnits).toBeLessThanOrEqual(4);
  }, 240_000);

  it('takes a member’s update in its row, newest version only, and moves the head’s version', async () => {
    await open();
    for (const n of [1, 2, 3]) expect(await join(n, T0 + n)).toBe('joined');
    const versionBefore = (await storms.getStormHead(ref, 'x'))!.head.version;
    for (const n of [1, 3]) {
      expect(
        await storms.updateStormMember(ref, { ...member(n, 5), status: 'resolved', failingContainers: 0 }),
      ).toBe(true);
      expect(await storms.updateStormMember(ref, { ...member(n, 4), failingContainers: 9 })).toBe(false);
    }
    expect(await storms.updateStormMember(ref, member(99, 5))).toBe(false);
    const storm = (await storms.getStorm(ref))!;
    expect(storm.bucket.version).toBe(versionBefore + 2);
    expect(storm.bucket.members[member(1).incidentId]).toMatchObject({ status: 'resolved', version: 5 });
    expect(storm.bucket.members[member(3).incidentId]).toMatchObject({ status: 'resolved', version: 5 });
    expect(storm.bucket.members[member(2).incidentId]).toMatchObject({ status: 'open', version: 1 });
    expect((await storms.getStormHead(ref, member(3).incidentId))!.member).toMatchObject({ version: 5 });
  });

  it('gives the row back when the bucket refuses, and a bucket opened by someone else takes no rows of ours', async () => {
    await open();
    const late = T0 + WINDOW + 1;
    const seen = (await storms.getStormHead(ref, member(5).incidentId))!;
    expect(await storms.joinStorm(seen, member(5), late)).toBeUndefined();
    expect(await storms.getStormHead(ref, member(5).incidentId)).not.toHaveProperty('member');
    const storm = (await storms.getStorm(ref))!;
    expect(Object.keys(storm.bucket.members)).toEqual([member(0).incidentId]);
    expect(storm.bucket.memberCount).toBe(1);

    expect(await storms.updateStormMember(ref, member(5, 9))).toBe(false);

    const { members: _members, ...head } = storm.bucket;
    expect(await storms.createStorm({ ...head, members: { [member(6).incidentId]: member(6) } })).toBe(false);
    expect(Object.keys((await storms.getStorm(ref))!.bucket.members)).toEqual([member(0).incidentId]);
    // …and may still join it: the row given back is claimed again.
    const open6 = (await storms.getStormHead(ref, member(6).incidentId))!;
    expect(await storms.joinStorm(open6, member(6), T0 + 6)).toMatchObject({
      member: { incidentId: member(6).incidentId },
    });
    expect((await storms.getStorm(ref))!.bucket.memberCount).toBe(2);
  });
});
