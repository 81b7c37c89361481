/**
 * The deployment config: the example is valid, defaults fill what is left out, durations are parsed
 * as the functions parse them, and every mistake is reported naming the file and the field.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DIR, InfraConfigError, loadInfraConfig, parseInfraConfig } from '../../infra/config';
import { exampleWith, resourcesOf, synthesize } from './support/synth';

const minimal = () => ({
  clusters: [{ name: 'prod-eu', auth: { type: 'pod-identity' } }],
  slack: { defaultChannel: '#alerts', token: { source: 'create' } },
});

const problems = (input: unknown): string[] => {
  try {
    parseInfraConfig(input, 'test.json');
  } catch (error) {
    expect(error).toBeInstanceOf(InfraConfigError);
    const [first, ...lines] = (error as Error).message.split('\n');
    expect(first).toBe('test.json is invalid:');
    return lines.map((line) => line.trim());
  }
  throw new Error('the config was accepted');
};

test('every shipped config is valid', () => {
  const names = readdirSync(CONFIG_DIR).filter((file) => file.endsWith('.json'));
  expect(names).toContain('example.json');
  for (const name of names) expect(() => loadInfraConfig(name.replace(/\.json$/, ''))).not.toThrow();
});

test('defaults: windows, retention, bus and stack names', () => {
  const config = parseInfraConfig(minimal());
  expect(config).toMatchObject({
    stackName: 'pullwatch',
    busName: 'pullwatch',
    windows: { updateInterval: 300_000, quietPeriod: 120_000, reopenWindow: 1_800_000, stormWindow: 120_000 },
    stormThreshold: 5,
    watchdogSilence: 600_000,
    historyRetention: 90,
    logRetention: 30,
    alarmEmails: [],
    slack: { routes: [], apiUrl: 'https://slack.com/api/' },
  });
  expect(config.clusters[0]!.auth).toEqual({ type: 'pod-identity', createAssociation: false });
});

test('durations are written as people write them', () => {
  const config = parseInfraConfig({
    ...minimal(),
    windows: { updateInterval: '90s', quietPeriod: '1h30m', reopenWindow: '2h', stormWindow: '500ms' },
    watchdogSilence: '15m',
    historyRetention: '2w',
  });
  expect(config.windows).toMatchObject({
    updateInterval: 90_000,
    quietPeriod: 5_400_000,
    reopenWindow: 7_200_000,
    stormWindow: 500,
  });
  expect(config.watchdogSilence).toBe(900_000);
  expect(config.historyRetention).toBe(14);
});

test('each mistake is reported on its own line, naming the field', () => {
  expect(
    problems({
      ...minimal(),
      clusters: [
        { name: 'prod eu', auth: { type: 'pod-identity' } },
        { name: 'b', auth: { type: 'irsa', oidcProviderArn: 'arn:aws:iam::1:role/x' } },
        { name: 'c', auth: { type: 'kiam' } },
      ],
      slack: { defaultChannel: 'General Chat', token: { source: 'existing' }, routs: [] },
      windows: { quietPeriod: 'soon' },
      stormThreshold: 1,
      watchdogSilence: '30s',
      historyRetention: '36h',
      logRetention: '31d',
      alarmEmails: ['oncall'],
      centralBusArn: 'pullwatch-central',
    }),
  ).toEqual([
    'clusters.0.name: must be letters, digits, "-" or "_" (at most 100)',
    expect.stringMatching(/^clusters\.1\.auth\.oidcProviderArn: must be an IAM OIDC provider ARN/),
    expect.stringMatching(/^clusters\.2\.auth\.type: must be \{"type": "pod-identity"\} or \{"type": "irsa"/),
    'slack.defaultChannel: must be a Slack channel id (C0123ABCD) or name (#alerts)',
    'slack.token.secretName: is required (string)',
    'slack.routs: unknown field (check its spelling)',
    expect.stringMatching(/^windows\.quietPeriod: must be a duration like 30s, 5m.*got "soon"$/),
    'stormThreshold: must be at least 2 (incidents that make a storm)',
    expect.stringMatching(/^watchdogSilence: must be at least 2m/),
    expect.stringMatching(/^historyRetention: must be a whole number of days/),
    expect.stringMatching(/^logRetention: must be one of 1d, 3d, .* got "31d"$/),
    'alarmEmails.0: must be an email address',
    expect.stringMatching(/^centralBusArn: must be an EventBridge bus ARN/),
  ]);
});

test('missing sections say they are required', () => {
  expect(problems({})).toEqual(['clusters: is required (array)', 'slack: is required (object)']);
});

test('cross-field checks: duplicate clusters, IRSA issuer, the account, the central bus', () => {
  const irsa = (arn: string, url?: string) => ({
    type: 'irsa',
    oidcProviderArn: arn,
    ...(url === undefined ? {} : { oidcIssuerUrl: url }),
  });
  const arn = 'arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC';
  expect(
    problems({
      ...minimal(),
      account: '222222222222',
      clusters: [
        { name: 'prod', auth: { type: 'pod-identity' } },
        { name: 'PROD', auth: irsa(arn, 'https://oidc.eks.eu-west-1.amazonaws.com/id/XYZ') },
      ],
      centralBusArn: 'arn:aws:events:eu-west-1:222222222222:event-bus/central',
    }),
  ).toEqual([
    'clusters.1.auth.oidcIssuerUrl: must name the same issuer as oidcProviderArn ("oidc.eks.eu-west-1.amazonaws.com/id/ABC"), got "oidc.eks.eu-west-1.amazonaws.com/id/XYZ"',
    'clusters.1.name: "PROD" is listed twice',
    'centralBusArn: must be a bus in another account (this one already has the events)',
    'clusters.1.auth.oidcProviderArn: must be an OIDC provider in this account (222222222222), got 111111111111',
  ]);
  expect(() =>
    parseInfraConfig({
      ...minimal(),
      clusters: [{ name: 'legacy', auth: irsa(arn, `https://${arn.split('/').slice(1).join('/')}/`) }],
    }),
  ).not.toThrow();
});

test('loading: a name is infra/config/<name>.json; a missing file or bad JSON says which file', () => {
  expect(loadInfraConfig('example').clusters.length).toBeGreaterThan(0);
  expect(loadInfraConfig(join(CONFIG_DIR, 'example.json')).stackName).toBe('pullwatch');
  expect(() => loadInfraConfig('nope')).toThrow(
    /config "nope" not found: expected .*infra\/config\/nope\.json/,
  );
  expect(() => loadInfraConfig(join(__dirname, 'config.test.ts'))).toThrow(/config\.test\.ts is not JSON/);
  expect(JSON.parse(readFileSync(join(CONFIG_DIR, 'example.json'), 'utf8')).slack.token).toEqual({
    source: 'create',
    secretName: 'pullwatch/slack-bot-token',
  });
});

test('interactivity.muteUsers takes user ids and user group ids; both functions get the list', () => {
  const slack = (muteUsers: string[]) => ({
    ...minimal(),
    slack: { ...minimal().slack, interactivity: { teamIds: ['T0TEAM'], appIds: ['A0APP'], muteUsers } },
  });
  expect(parseInfraConfig(slack(['U0BOB', 'W0ENT', 'S0SRE'])).slack.interactivity?.muteUsers).toEqual([
    'U0BOB',
    'W0ENT',
    'S0SRE',
  ]);
  expect(problems(slack(['U0BOB', 'C0ALERTS']))).toEqual([
    'slack.interactivity.muteUsers.1: must be a Slack user id (U…, W…) or user group id (S…)',
  ]);
  const { template } = synthesize(
    exampleWith((raw) => {
      (raw.slack as { interactivity: { muteUsers: string[] } }).interactivity.muteUsers = ['U0BOB', 'S0SRE'];
    }),
  );
  const lists = resourcesOf(template, 'AWS::Lambda::Function')
    .map(
      ([, fn]) =>
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables,
    )
    .flatMap((variables) =>
      variables?.PULLWATCH_SLACK_MUTE_USERS === undefined ? [] : [variables.PULLWATCH_SLACK_MUTE_USERS],
    );
  // The endpoint (its users) and the actions worker (its groups).
  expect(lists).toEqual(['U0BOB,S0SRE', 'U0BOB,S0SRE']);
});
