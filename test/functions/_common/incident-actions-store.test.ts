import { type ActionRequest, applyAction } from '#shared/incident-actions';
import { DynamoActionStore } from '../../../functions/_common/incident-actions-store';
import { type LocalDynamo, startDynalite } from '../../support/dynalite';

const T = Date.parse('2026-03-01T10:04:00.000Z');
const subject = { kind: 'incident' as const, keyId: 'abcdefghjkmn', generation: 2 };
const workload = { cluster: 'prod-eu', namespace: 'shop', kind: 'Deployment', name: 'web' };

let dynamo: LocalDynamo;
let store: DynamoActionStore;
beforeAll(async () => {
  dynamo = await startDynalite();
  store = new DynamoActionStore(dynamo.newClient(), { tableName: dynamo.tableName, now: () => new Date(T) });
});
afterAll(() => dynamo.stop());

const ack = (user: string, actionTs: string): ActionRequest => ({
  kind: 'acknowledge',
  subject,
  actor: { userId: user, userName: user.toLowerCase() },
  teamId: 'T0TEAM',
  actionTs,
  receivedAt: T,
});

describe('DynamoActionStore', () => {
  it('serialises 20 concurrent acknowledgements (10 users, each twice): every user once', async () => {
    const users = Array.from({ length: 10 }, (_, i) => `U0USER${i}`);
    const requests = users.flatMap((user, i) => [
      ack(user, `1772359260.${i}1`),
      ack(user, `1772359260.${i}2`),
    ]);
    const outcomes = await Promise.all(
      requests.map((request) => store.updateActions(subject, (state) => applyAction(state, request, T))),
    );
    expect(outcomes.filter((outcome) => outcome.kind === 'applied')).toHaveLength(10);
    const stored = await store.getActions(subject);
    expect(stored.acks.map((a) => a.userId).sort()).toEqual(users);
    expect(stored.version).toBe(10);
    expect(stored.timeline).toHaveLength(10);
  });

  it('keeps one mute per workload, lists them by cluster, and lifts them', async () => {
    const mute = { workload, userId: 'U0ALICE', userName: 'alice', at: T, subjectId: 'incident:x.1' };
    expect(await store.putMute(mute)).toBe(true);
    expect(await store.putMute({ ...mute, userName: 'bob' })).toBe(false);
    await store.putMute({ ...mute, workload: { ...workload, cluster: 'prod-eu-2' } });
    expect((await store.listMutes('prod-eu')).map((m) => m.workload.cluster)).toEqual(['prod-eu']);
    expect(await store.listMutes()).toHaveLength(2);
    expect((await store.getSilence(workload)).mute?.userName).toBe('alice');
    expect((await store.deleteMute(workload))?.userName).toBe('alice');
    expect(await store.deleteMute(workload)).toBeUndefined();
    expect((await store.getSilence(workload)).mute).toBeUndefined();
  });

  it('a workload snooze: a later one wins, an older retry does not shorten it, clear only by its owner', async () => {
    const snooze = {
      userId: 'U1',
      userName: 'a',
      at: T,
      until: T + 3_600_000,
      subjectId: 'incident:a.1',
      untilResolved: false,
    };
    await store.putSnooze(workload, snooze);
    await store.putSnooze(workload, {
      ...snooze,
      at: T + 10,
      until: T + 7_200_000,
      subjectId: 'incident:b.1',
    });
    await store.putSnooze(workload, snooze);
    expect((await store.getSilence(workload)).snooze?.until).toBe(T + 7_200_000);
    await store.clearSnooze(workload, 'incident:a.1');
    expect((await store.getSilence(workload)).snooze).toBeDefined();
    await store.clearSnooze(workload, 'incident:b.1');
    expect((await store.getSilence(workload)).snooze).toBeUndefined();
  });
});
