/**
 * `pullwatch mutes` and `pullwatch unmute` as a user runs them, against a local store holding mutes
 * written by the action store (as a "Mute workload" click writes them).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoActionStore } from '../../functions/_common/incident-actions-store';
import { openLocalStore } from '../../local/store';
import { run } from '../e2e/support/process';

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
  const again = await run(['unmute', 'prod-eu/shop/web', '--data', data], env);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('prod-eu/shop/web is not muted');
  const bad = await run(['unmute', 'web', '--data', data], env);
  expect(bad.code).toBe(2);
  const after = await run(['mutes', '--data', data], env);
  expect(after.stdout).toContain('2 muted');
  expect(after.stdout).not.toContain('prod-eu/shop/deployment/web');
});
