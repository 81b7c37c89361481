/**
 * The registry check's pipeline side, pure: which images the config puts in scope, how an incident
 * keeps the answer (the fold), the Slack line (inert registry strings) and the suggested tag in the fix.
 */
import { diagnose } from '#shared/diagnosis/diagnose';
import { DEFAULT_WINDOWS, type Incident, type PullObservation, absorb, newIncident } from '#shared/incident';
import { incidentKeyOf, keyIdOf } from '#shared/incident-key';
import {
  DISABLED_REGISTRY_CHECK,
  REGISTRY_CHECK_SETTING,
  registryCheckConfigSchema,
  registryCheckScope,
} from '#shared/registry-check/check-config';
import type { IncidentRegistryCheck } from '#shared/registry-check/outcome';
import { withSuggestedTag } from '#shared/registry-check/suggested-fix';
import { type Block, incidentView, renderIncidentMessage } from '#shared/slack-message';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const IMAGE = 'ghcr.io/acme/node-agent:3.4.1';

const config = (extra: Record<string, unknown> = {}) =>
  registryCheckConfigSchema.parse({ enabled: true, ...extra });

describe('scope', () => {
  it('asks nothing while disabled, and honours denied before allowed globs', () => {
    expect(registryCheckScope(DISABLED_REGISTRY_CHECK, IMAGE).check).toBe(false);
    expect(registryCheckScope(config(), IMAGE).check).toBe(true);
    expect(registryCheckScope(config({ deniedRegistries: ['*.io'] }), IMAGE)).toEqual({
      check: false,
      why: 'ghcr.io is in deniedRegistries',
    });
    expect(registryCheckScope(config({ allowedRegistries: ['docker.io', 'GHCR.IO'] }), IMAGE).check).toBe(
      true,
    );
    expect(registryCheckScope(config({ allowedRegistries: ['docker.io'] }), IMAGE)).toEqual({
      check: false,
      why: 'ghcr.io is not in allowedRegistries',
    });
    expect(registryCheckScope(config(), 'not a reference').check).toBe(false);
  });

  it('asks private ECR only for the repositories listed by ARN (a trailing * is a prefix)', () => {
    const ecr = config({ ecrRepositories: ['arn:aws:ecr:eu-west-1:123456789012:repository/platform/*'] });
    const image = (path: string, region = 'eu-west-1', account = '123456789012') =>
      `${account}.dkr.ecr.${region}.amazonaws.com/${path}:1.0`;
    expect(registryCheckScope(ecr, image('platform/agent'))).toMatchObject({ check: true, ecr: true });
    expect(registryCheckScope(ecr, image('payments/api')).check).toBe(false);
    expect(registryCheckScope(ecr, image('platform/agent', 'us-east-1')).check).toBe(false);
    expect(registryCheckScope(ecr, image('platform/agent', 'eu-west-1', '999999999999')).check).toBe(false);
    const exact = config({ ecrRepositories: ['arn:aws:ecr:eu-west-1:123456789012:repository/platform'] });
    expect(registryCheckScope(exact, image('platform')).check).toBe(true);
    expect(registryCheckScope(exact, image('platform/agent')).check).toBe(false);
  });

  it('refuses a bad section, naming the field', () => {
    const parse = (value: unknown) => () =>
      REGISTRY_CHECK_SETTING.read({ PULLWATCH_REGISTRY_CHECK: JSON.stringify(value) });
    expect(parse({ enabled: true, timeoutSeconds: 30 })).toThrow(
      'PULLWATCH_REGISTRY_CHECK is invalid: timeoutSeconds must be at most 5 (seconds)',
    );
    expect(parse({ enabled: true, ecrRepositories: ['platform/*'] })).toThrow(
      /ecrRepositories\.0 must be an ECR repository ARN/,
    );
    expect(parse({ enable: true })).toThrow(/Unrecognized key: "enable"/);
    expect(REGISTRY_CHECK_SETTING.read({})).toEqual(DISABLED_REGISTRY_CHECK);
  });
});

// ---------------------------------------------------------------------------------------------

const message = `Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = failed to pull and unpack image "${IMAGE}": failed to resolve reference "${IMAGE}": ${IMAGE}: not found`;
const verdict = diagnose({
  reason: 'ErrImagePull',
  message,
  image: IMAGE,
  namespace: 'shop',
  pod: 'agent-1',
  container: 'agent',
  workload: { kind: 'DaemonSet', name: 'node-agent' },
});
const key = incidentKeyOf(
  {
    cluster: 'prod-eu',
    namespace: 'shop',
    workload: { kind: 'DaemonSet', name: 'node-agent' },
    container: 'agent',
    image: IMAGE,
  },
  verdict.cause,
);

const check = (extra: Partial<IncidentRegistryCheck> = {}): IncidentRegistryCheck => ({
  outcome: 'confirmed',
  summary: 'ghcr.io/acme/node-agent has no tag 3.4.1; nearest: 3.4.0, 3.4.1-rc1.',
  suggestedTags: ['3.4.0', '3.4.1-rc1'],
  public: true,
  checkedFrom: 'AWS Lambda in account 123456789012 (eu-west-1)',
  checkedAt: '2026-03-01T10:02:00.000Z',
  ...extra,
});

const observation = (at: number, registryCheck?: IncidentRegistryCheck): PullObservation => ({
  kind: 'failed',
  key,
  podUid: 'uid-1',
  pod: 'agent-1',
  node: 'node-1',
  containerType: 'regular',
  reason: 'ErrImagePull',
  message,
  firstSeen: T0,
  lastSeen: T0 + at,
  count: 1,
  observedAt: T0 + at,
  annotations: {},
  verdict,
  ...(registryCheck === undefined ? {} : { registryCheck }),
});

const fold = (...observations: PullObservation[]): Incident =>
  observations.reduce(
    (incident, next) => absorb(incident, next, DEFAULT_WINDOWS),
    newIncident(keyIdOf(key), 1, key),
  );

describe('the incident keeps the answer', () => {
  it('on the latest failure, whichever of the two events comes first, and across later failures', () => {
    const first = observation(1000);
    const followUp = observation(1000, check());
    expect(fold(first, followUp).latest?.registryCheck).toEqual(check());
    expect(fold(followUp, first).latest?.registryCheck).toEqual(check());
    expect(fold(first, followUp, observation(60_000)).latest).toMatchObject({
      at: T0 + 60_000,
      registryCheck: check(),
    });
  });

  it('a re-check that agrees changes nothing; a newer different answer replaces it, an older one does not', () => {
    const kept = fold(observation(1000, check()));
    const agreeing = observation(1000, check({ checkedAt: '2026-03-01T10:09:00.000Z' }));
    expect(absorb(kept, agreeing, DEFAULT_WINDOWS)).toBe(kept);
    const changed = check({
      outcome: 'contradicted',
      summary: 'ghcr.io/acme/node-agent:3.4.1 exists now.',
      suggestedTags: [],
      checkedAt: '2026-03-01T10:09:00.000Z',
    });
    expect(absorb(kept, observation(1000, changed), DEFAULT_WINDOWS).latest?.registryCheck).toEqual(changed);
    const older = check({
      outcome: 'unreachable',
      summary: 'unreachable',
      checkedAt: '2026-03-01T10:01:00.000Z',
    });
    expect(absorb(kept, observation(1000, older), DEFAULT_WINDOWS)).toBe(kept);
  });
});

// ---------------------------------------------------------------------------------------------

const textOf = (blocks: readonly Block[]): string =>
  blocks.flatMap((block) => (block.type === 'section' ? [block.text?.text ?? ''] : [])).join('\n');

describe('the Slack message', () => {
  it('shows the Registry check line and proposes the nearest tag in the fix, marked as a suggestion', () => {
    const view = incidentView(fold(observation(1000, check())))!;
    const text = textOf(renderIncidentMessage(view).blocks);
    expect(text).toContain(
      '*Registry check:* ✔ confirmed from AWS Lambda in account 123456789012 (eu-west-1) at <!date^1772359320^{date_short_pretty} {time_secs}|2026-03-01 10:02:00 UTC>: ghcr.io/acme/node-agent has no tag 3.4.1; nearest: 3.4.0, 3.4.1-rc1.',
    );
    expect(text).toContain(
      '(suggested by the registry check: 3.4.0 is the nearest existing tag, then 3.4.1-rc1; make sure it is the build you want)',
    );
    expect(text).toContain("agent='ghcr.io/acme/node-agent:3.4.0'");
    expect(text).not.toContain('&lt;existing-tag&gt;');
  });

  it('without an answer, no line and the placeholder stays', () => {
    const text = textOf(renderIncidentMessage(incidentView(fold(observation(1000)))!).blocks);
    expect(text).not.toContain('Registry check');
    expect(text).toContain('&lt;existing-tag&gt;');
  });

  it('renders what a hostile registry wrote inert, and never puts a tag outside the grammar in a command', () => {
    const hostile = check({
      summary:
        'ghcr.io/acme/node-agent has no tag 3.4.1; nearest: <!channel> @here <https://evil.example|click>',
      suggestedTags: ["3.4.0'; rm -rf / #", '3.4.0'],
      checkedFrom: 'laptop <@U123>',
    });
    const view = incidentView(fold(observation(1000, hostile)))!;
    const text = textOf(renderIncidentMessage(view).blocks);
    expect(text).toContain('&lt;!channel&gt; @\u200bhere &lt;https://evil.example|click&gt;');
    expect(text).toContain('from laptop &lt;@U123&gt;');
    expect(text).not.toContain('rm -rf');
    expect(withSuggestedTag(verdict, hostile)).toBe(verdict);
  });

  it('an unreachable or skipped answer suggests nothing', () => {
    expect(withSuggestedTag(verdict, check({ outcome: 'unreachable' }))).toBe(verdict);
    expect(withSuggestedTag(verdict, check({ outcome: 'skipped' }))).toBe(verdict);
  });
});
