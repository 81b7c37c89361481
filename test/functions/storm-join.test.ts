/**
 * The storm-join rule lives once (shared/incident-storm.ts JOIN_RULE): the pure `acceptsJoins` and
 * the store's conditional write must agree at the boundary instants, against dynalite.
 */
import {
  type StormBucket,
  type StormMember,
  acceptsJoins,
  joinsUntil,
  stormGroupIdOf,
  stormIdOf,
} from '#shared/incident-storm';
import { DynamoIncidentStore, type StoredStormHead } from '../../functions/_common/incident-store';
import { type LocalDynamo, startDynalite } from '../support/dynalite';
import { DEFAULT_WINDOWS } from '#shared/incident';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const WINDOW = 120_000;
const THRESHOLD = 3;

let dynamo: LocalDynamo;
let store: DynamoIncidentStore;
let groups = 0;
beforeEach(async () => {
  dynamo = await startDynalite();
  store = new DynamoIncidentStore(dynamo.newClient(), {
    tableName: dynamo.tableName,
    windows: DEFAULT_WINDOWS,
  });
});
afterEach(() => dynamo.stop());

const member = (n: number): StormMember => ({
  incidentId: `pw-member${String(n).padStart(5, '0')}`,
  keyId: `pw-member${String(n).padStart(5, '0')}`,
  generation: 1,
  namespace: 'shop',
  workload: { kind: 'Deployment', name: `svc-${n}` },
  container: 'app',
  image: 'nginx:1.27',
  joinedAt: T0,
  status: 'open',
  failingContainers: 1,
  affectedPods: 1,
  version: 1,
});

/** A bucket with `members` members, the last of whom joined at `lastJoinAt`. */
const bucketWith = async (members: number, lastJoinAt: number): Promise<StoredStormHead> => {
  const group = {
    cluster: `c-${++groups}`,
    cause: 'rate-limited' as const,
    registry: 'docker.io',
    channel: 'alerts',
  };
  const ref = { groupId: stormGroupIdOf(group), seq: 1 };
  const all = Array.from({ length: members }, (_, n) => member(n));
  const bucket: StormBucket = {
    ref,
    stormId: stormIdOf(ref),
    group,
    title: 'Registry rate limit reached',
    registryName: 'Docker Hub',
    explanation: '',
    docs: '',
    threshold: THRESHOLD,
    windowMs: WINDOW,
    openedAt: T0,
    decideAt: T0,
    lastJoinAt,
    memberCount: members,
    members: Object.fromEntries(all.map((m) => [m.incidentId, m])),
    version: members,
  };
  expect(await store.storms.createStorm(bucket)).toBe(true);
  return (await store.storms.getStormHead(ref, 'nobody'))!;
};

describe('a storm join at the boundary instants', () => {
  it.each([
    ['a forming bucket', 1, T0],
    ['a storm', THRESHOLD, T0 + 60_000],
  ])(
    '%s: the rule and the store both take a member at its deadline and neither does one instant later',
    async (_name, members, lastJoinAt) => {
      for (const [offset, expected] of [
        [0, true],
        [1, false],
      ] as const) {
        const seen = await bucketWith(members, lastJoinAt);
        const now = joinsUntil(seen.head) + offset;
        expect(acceptsJoins(seen.head, now)).toBe(expected);
        const joined = await store.storms.joinStorm(seen, member(99), now);
        expect(joined !== undefined).toBe(expected);
      }
    },
  );
});
