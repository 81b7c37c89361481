/**
 * Local mode's registry check: configured by PULLWATCH_REGISTRY_CHECK (local/config.ts), asked from the
 * laptop against a real Distribution registry, and said so (`checkedFrom: laptop`) in the table and in
 * the message terminal Slack shows once the throttled update is due.
 */
import { loadLocalConfig } from '../../local/config';
import { scanAll } from '../support/dynalite';
import {
  CONTENT,
  type RegistryLab,
  describeLab,
  labSkipReason,
  startRegistryLab,
} from '../functions/_common/registry-check/support/registry-lab';
import { MINUTE, T0, type TestPipeline, startTestPipeline } from './support/local-pipeline';

jest.setTimeout(120_000);

let lab: RegistryLab;
beforeAll(async () => {
  if (!labSkipReason) lab = await startRegistryLab();
});
afterAll(async () => {
  await lab?.stop();
});

test('PULLWATCH_REGISTRY_CHECK is off by default and names itself when it is wrong', () => {
  expect(loadLocalConfig({}).registryCheck.enabled).toBe(false);
  expect(() => loadLocalConfig({ PULLWATCH_REGISTRY_CHECK: '{"enabled": "yes"}' })).toThrow(
    /^PULLWATCH_REGISTRY_CHECK is invalid: enabled /,
  );
});

describeLab('local mode asks the registry from the laptop', () => {
  let world: TestPipeline;
  afterEach(() => world?.stop());

  it('keeps the answer on the incident and shows it, from laptop', async () => {
    const { registryCheck } = loadLocalConfig({
      PULLWATCH_REGISTRY_CHECK: JSON.stringify({
        enabled: true,
        privateRegistries: [lab.plain.host],
        plainHttpRegistries: [lab.plain.host],
      }),
    });
    world = await startTestPipeline({}, { registryCheck });
    const image = `${lab.plain.host}/${CONTENT.app.repository}:1.0.2`;
    const message = `Failed to pull image "${image}": rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`;
    await world.failed({ at: T0, image, message });

    const Items = await scanAll(world.dynamo);
    const checks = Items.flatMap((item) => {
      const check = (item.text as { registryCheck?: { checkedFrom: string; outcome: string } } | undefined)
        ?.registryCheck;
      return check === undefined ? [] : [check];
    });
    expect(checks).toEqual([
      expect.objectContaining({
        outcome: 'confirmed',
        checkedFrom: 'laptop',
        suggestedTags: ['1.0.1', '1.0.0', '1.0.2-rc1', '1.1.0', '2.0.0'],
      }),
    ]);

    const before = world.printed.join('\n');
    expect(before).not.toContain('Registry check');
    await world.tickAt(T0 + 6 * MINUTE);
    const after = world.printed.join('\n');
    expect(after).toContain('Registry check');
    expect(after).toContain(`confirmed from laptop`);
    expect(after).toContain(`${lab.plain.host}/acme/app has no tag 1.0.2; nearest: 1.0.1`);
  });
});
