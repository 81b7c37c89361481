/**
 * `pullwatch mutes` and `pullwatch unmute` as a user runs them, against a local store holding mutes
 * written by the action store (as a "Mute workload" click writes them), and in AWS (dynalite, a
 * local CloudFormation and EventBridge), where the unmute goes on the bus as `WorkloadUnmuted`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoActionStore } from '../../functions/_common/incident-actions-store';
import { openLocalStore } from '../../local/store';
import { run } from '../e2e/support/process';
import { matchesPattern } from '#shared/contract';
import {
  PIPELINE_DETAIL_TYPE,
  PIPELINE_SOURCE,
  actionDetailSchema,
  actionEventsPattern,
} from '#shared/incident-events';
import { EVENT_BUS_OUTPUT, INCIDENT_TABLE_OUTPUT } from '../../infra/outputs';
import { DUMMY_CREDENTIALS, type LocalDynamo, startDynalite } from '../support/dynalite';
import { FakeCloudFormation } from '../support/fake-cloudformation';
import { FakeEventBridge } from '../support/fake-eventbridge';

jest.setTimeout(60_000);

const T = Date.parse('2026-03-01T10:04:00.000Z');
let dir: string;
let data: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-cli-mutes-'));
  data = join(dir, 'data');
  const store = await openLocalStore(data, 'test');
  const client = store.newClient();
  const actions = new DynamoActionStore(client, { tableName: store.tableName, now: () => new Date(T) });
  const mute = (cluster: string, name: string, userName: string) =>
    actions.putMute({
      workload: { cluster, namespace: 'shop', kind: 'Deployment', name },
      userId: 'U0ALICE',
      userName,
      at: T,
      subjectId: 'incident:x.1',
    });
  await mute('prod-eu', 'web', 'alice');
  await mute('prod-eu', 'api', 'bob');
  await mute('prod-us', 'web', 'alice');
  client.destroy();
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('lists mutes with who and when, by cluster, as JSON; unmute lifts one', async () => {
  const env = { PATH: process.env.PATH, HOME: dir };
  const all = await run(['mutes', '--data', data], env);
  expect(all.code).toBe(0);
  expect(all.stdout).toMatch(/WORKLOAD\s+MUTED BY\s+SINCE/);
  expect(all.stdout).toMatch(/prod-eu\/shop\/deployment\/api\s+@bob \(U0ALICE\)\s+2026-03-01T10:04:00Z/);
  expect(all.stdout).toContain('3 muted');
  const json = await run(['mutes', '--cluster', 'prod-eu', '--json', '--data', data], env);
  expect(
    (JSON.parse(json.stdout) as Array<{ workload: { name: string } }>).map((m) => m.workload.name).sort(),
  ).toEqual(['api', 'web']);
  const lifted = await run(['unmute', 'prod-eu/shop/web', '--data', data], env);
  expect(lifted.code).toBe(0);
  expect(lifted.stdout).toContain('unmuted prod-eu/shop/deployment/web (muted by @alice)');
  expect(lifted.stdout).toContain('(no bus event: the local store has none');
  const again = await run(['unmute', 'prod-eu/shop/web', '--data', data], env);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('prod-eu/shop/web is not muted');
  const bad = await run(['unmute', 'web', '--data', data], env);
  expect(bad.code).toBe(2);
  const after = await run(['mutes', '--data', data], env);
  expect(after.stdout).toContain('2 muted');
  expect(after.stdout).not.toContain('prod-eu/shop/deployment/web');
});

describe('pullwatch unmute in AWS: the mute is lifted and WorkloadUnmuted goes on the bus', () => {
  let dynamo: LocalDynamo;
  let bus: FakeEventBridge;
  let cloudformation: FakeCloudFormation;
  let aws: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dynamo = await startDynalite();
    bus = await new FakeEventBridge().start();
    cloudformation = await new FakeCloudFormation('eu-west-1')
      .addStack({
        name: 'pullwatch-prod',
        outputs: { [EVENT_BUS_OUTPUT]: 'pullwatch-bus', [INCIDENT_TABLE_OUTPUT]: dynamo.tableName },
      })
      .start();
    const actions = new DynamoActionStore(dynamo.client, {
      tableName: dynamo.tableName,
      now: () => new Date(T),
    });
    for (const name of ['web', 'api'])
      await actions.putMute({
        workload: { cluster: 'prod-eu', namespace: 'shop', kind: 'Deployment', name },
        userId: 'U0ALICE',
        userName: 'alice',
        at: T,
        subjectId: 'incident:x.1',
      });
    aws = {
      PATH: process.env.PATH,
      HOME: dir,
      USER: 'operator',
      AWS_ACCESS_KEY_ID: DUMMY_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DUMMY_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_ENDPOINT_URL_CLOUDFORMATION: cloudformation.origin,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.origin,
    };
  });
  afterAll(async () => {
    await cloudformation?.stop();
    await bus?.stop();
    await dynamo?.stop();
  });

  it("--stack: on the stack's own bus (its output), as the contract says it", async () => {
    const lifted = await run(
      ['unmute', 'prod-eu/shop/web', '--stack', 'pullwatch-prod', '--region', 'eu-west-1'],
      aws,
    );
    expect(lifted.code).toBe(0);
    expect(lifted.stdout).toContain('WorkloadUnmuted put on the bus pullwatch-bus');
    expect(bus.events.map((event) => [event.eventBusName, event.source, event.detailType])).toEqual([
      ['pullwatch-bus', PIPELINE_SOURCE, PIPELINE_DETAIL_TYPE.unmuted],
    ]);
    const detail = actionDetailSchema.parse(bus.events[0]!.detail);
    expect(detail).toMatchObject({
      cluster: 'prod-eu',
      namespace: 'shop',
      workload: { kind: 'Deployment', name: 'web' },
      by: { userId: 'cli' },
    });
    // Other teams' rule for actions takes it.
    expect(
      matchesPattern(actionEventsPattern, {
        source: PIPELINE_SOURCE,
        'detail-type': bus.events[0]!.detailType,
      }),
    ).toBe(true);
  });

  it('--table with --event-bus: on the named bus; nothing lifted, nothing announced', async () => {
    const region = ['--region', 'eu-west-1'];
    const named = await run(
      ['unmute', 'prod-eu/shop/api', '--table', dynamo.tableName, '--event-bus', 'other-bus', ...region],
      aws,
    );
    expect(named.code).toBe(0);
    expect(bus.events.at(-1)).toMatchObject({ eventBusName: 'other-bus', detailType: 'WorkloadUnmuted' });
    const count = bus.events.length;
    const again = await run(
      ['unmute', 'prod-eu/shop/api', '--table', dynamo.tableName, '--event-bus', 'other-bus', ...region],
      aws,
    );
    expect(again.code).toBe(1);
    expect(bus.events).toHaveLength(count);
  });
});
