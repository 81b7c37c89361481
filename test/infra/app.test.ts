/**
 * The app: cdk-nag's AWS Solutions checks run on every synth with zero unacknowledged findings, and
 * every acknowledgement answers a finding cdk-nag really raises on that very resource, with a
 * reason. Also the config selection (`-c config=<name>`) and its errors.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { createApp } from '../../infra/app';
import { SKIP_ACKNOWLEDGEMENTS } from '../../infra/constructs/acknowledgements';
import { cdkContext, exampleWith } from './support/synth';

const NO_BUNDLING = { 'aws:cdk:bundling-stacks': [] };

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

const acknowledgementsIn = (root: IConstruct): Acknowledgement[] =>
  root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );

const findingsIn = (root: IConstruct) =>
  new AwsSolutionsChecks().validateScope(root).violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      severity: violation.severity,
      path: (resource as { constructPath: string }).constructPath,
    })),
  );

describe('cdk-nag AwsSolutionsChecks', () => {
  test('the example and a variant with every option synthesize with zero unacknowledged findings', () => {
    const example = createApp({
      appProps: { context: { ...cdkContext(), ...NO_BUNDLING } },
      config: 'example',
    });
    expect(findingsIn(example.stack)).toEqual([]);
    // The plugin is attached to the app itself: a finding fails `cdk synth`.
    expect(() => example.app.synth()).not.toThrow();
    const variant = createApp({
      appProps: { context: { ...cdkContext(), ...NO_BUNDLING } },
      config: exampleWith((raw) => {
        raw.account = '222222222222';
        raw.region = 'eu-west-1';
        raw.centralBusArn = 'arn:aws:events:eu-west-1:999999999999:event-bus/central';
        raw.slack = { defaultChannel: '#alerts', token: { source: 'existing', secretName: 'slack' } };
        raw.clusters = [{ name: 'a', auth: { type: 'pod-identity', createAssociation: true } }];
      }),
    });
    expect(findingsIn(variant.stack)).toEqual([]);
  });

  test('every acknowledgement answers a finding raised on that resource, and carries a reason', () => {
    const acknowledged = createApp({
      appProps: { context: { ...cdkContext(), ...NO_BUNDLING } },
      config: 'example',
    });
    const bare = createApp({
      appProps: { context: { ...cdkContext(), ...NO_BUNDLING, [SKIP_ACKNOWLEDGEMENTS]: true } },
      config: 'example',
    });
    const acknowledgements = acknowledgementsIn(acknowledged.stack);
    const findings = findingsIn(bare.stack);
    expect(acknowledgements.length).toBeGreaterThan(0);
    expect(acknowledgementsIn(bare.stack)).toEqual([]);

    const covers = (ack: Acknowledgement, finding: { rule: string; path: string }) =>
      ack.id === finding.rule && (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`));
    // Each finding is acknowledged on its own resource (or the construct that owns it)…
    for (const finding of findings) {
      expect({ finding, acknowledged: acknowledgements.some((ack) => covers(ack, finding)) }).toEqual({
        finding,
        acknowledged: true,
      });
    }
    // …each acknowledgement is needed, covers one resource, and says why.
    for (const ack of acknowledgements) {
      const covered = findings.filter((finding) => covers(ack, finding));
      expect({ ack: `${ack.id} on ${ack.path}`, covered: covered.length }).toEqual({
        ack: `${ack.id} on ${ack.path}`,
        covered: 1,
      });
      expect(ack.reason.length).toBeGreaterThan(40);
    }
  });
});

describe('config selection', () => {
  test('`-c config=<name>` picks infra/config/<name>.json; the default is the example', () => {
    const byDefault = createApp({ appProps: { context: { ...NO_BUNDLING } } });
    expect(byDefault.config.clusters.map((cluster) => cluster.name)).toEqual(['prod-eu', 'staging-eu']);
    expect(() => createApp({ appProps: { context: { ...NO_BUNDLING, config: 'no-such-account' } } })).toThrow(
      /config "no-such-account" not found: expected .*infra\/config\/no-such-account\.json/,
    );
  });
});
