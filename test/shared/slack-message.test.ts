import fc from 'fast-check';
import { diagnose } from '#shared/diagnosis/diagnose';
import {
  DEFAULT_WINDOWS,
  type Incident,
  type PullObservation,
  absorb,
  newIncident,
  settle,
} from '#shared/incident';
import { incidentKeyOf, keyIdOf } from '#shared/incident-key';
import { type StormBucket, stormView } from '#shared/incident-storm';
import {
  type Block,
  type IncidentView,
  SLACK_LIMITS,
  type SlackMessage,
  escapeClip,
  escapeMrkdwn,
  formatDuration,
  incidentView,
  renderIncidentMessage,
  renderReopenReply,
  renderResolutionReply,
  renderForwarderBackReply,
  renderSilenceWarning,
  renderStormMessage,
} from '#shared/slack-message';
import { stormBucketOf } from '../support/storm-bucket';

const MIN = 60_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');

interface Names {
  cluster?: string;
  namespace?: string;
  workload?: string;
  pod?: string;
  container?: string;
  image?: string;
  message?: string;
}

const incidentOf = (names: Names = {}, pods = 1): Incident => {
  const image = names.image ?? 'nginx:1.27-alpin';
  const message =
    names.message ??
    `Failed to pull image "${image}": rpc error: code = NotFound desc = docker.io/library/nginx:1.27-alpin: not found`;
  const fields = {
    cluster: names.cluster ?? 'prod-eu',
    namespace: names.namespace ?? 'shop',
    workload: { kind: 'Deployment', name: names.workload ?? 'web' },
    container: names.container ?? 'web',
    image,
  };
  const verdict = diagnose({
    reason: 'ErrImagePull',
    message,
    image,
    namespace: fields.namespace,
    pod: names.pod,
  });
  const key = incidentKeyOf(fields, verdict.cause);
  let incident = newIncident(keyIdOf(key), 1, key);
  for (let i = 0; i < pods; i++) {
    const observation: PullObservation = {
      kind: 'failed',
      key,
      podUid: `uid-${i}`,
      pod: i === 0 ? (names.pod ?? 'web-7d9c6b5f4-x2x9z') : `web-7d9c6b5f4-${i}`,
      node: 'node-1',
      containerType: 'regular',
      reason: 'ErrImagePull',
      message,
      firstSeen: T0,
      lastSeen: T0 + 4 * MIN,
      count: 3,
      observedAt: T0 + 4 * MIN + i,
      annotations: {},
      verdict,
    };
    incident = absorb(incident, observation, DEFAULT_WINDOWS);
  }
  return incident;
};

const viewOf = (incident: Incident): IncidentView => {
  const view = incidentView(incident);
  if (view === undefined) throw new Error('no view');
  return view;
};

const textsOf = (message: SlackMessage): string[] => [
  message.text,
  ...message.blocks.flatMap((block: Block): string[] => {
    switch (block.type) {
      case 'header':
        return [block.text.text];
      case 'section':
        return [block.text?.text ?? '', ...(block.fields ?? []).map((field) => field.text)];
      case 'context':
        return block.elements.map((element) => element.text);
      default:
        return [];
    }
  }),
];

/** Angle-bracket tokens in mrkdwn: only the ones pullwatch writes itself may appear. */
const liveTokens = (message: SlackMessage): string[] =>
  textsOf(message)
    .flatMap((text) => [...text.matchAll(/<([^>]*)>/g)].map((match) => match[1]!))
    .filter((token) => !/^!date\^\d+\^\{date_short_pretty\} \{time_secs\}\|[\d: -]+UTC$/.test(token))
    .filter((token) => !/^https:\/\/[^\s<>|&"]+\|Docs$/.test(token));

const expectWithinLimits = (message: SlackMessage) => {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  for (const block of message.blocks) {
    if (block.type === 'header') expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    if (block.type === 'section') {
      expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(block.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
      for (const field of block.fields ?? [])
        expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
      expect(block.text !== undefined || (block.fields?.length ?? 0) > 0).toBe(true);
    }
    if (block.type === 'context') {
      expect(block.elements.length).toBeLessThanOrEqual(SLACK_LIMITS.contextElements);
      for (const element of block.elements)
        expect(element.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
    }
  }
  expect(message.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackText);
  // Every '&' starts one of the three entities: no entity was cut in half.
  for (const text of textsOf(message)) expect(text).not.toMatch(/&(?!amp;|lt;|gt;)/);
};

/** Hostile text arrived inert: no live token, no broadcast, no bidi override, and within the limits. */
const expectInert = (message: SlackMessage) => {
  expect(liveTokens(message)).toEqual([]);
  const joined = textsOf(message).join('\n');
  expect(joined).not.toMatch(/@(channel|here|everyone)\b/i);
  expect(joined).not.toContain('\u202e');
  expectWithinLimits(message);
};

describe('the incident message', () => {
  const message = renderIncidentMessage(viewOf(incidentOf({}, 3)));
  const all = textsOf(message).join('\n');

  it('leads with the cause in plain words', () => {
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: 'Image tag or digest not found', emoji: true },
    });
  });

  it('says where: cluster, namespace, workload, container and image', () => {
    const where = message.blocks.find((block) => block.type === 'section' && block.fields !== undefined);
    expect(where?.type === 'section' && where.fields?.map((field) => field.text)).toEqual([
      '*Cluster*\n`prod-eu`',
      '*Namespace*\n`shop`',
      '*Workload*\n`deployment/web`',
      '*Container*\n`web`',
      '*Image*\n`nginx:1.27-alpin`',
      '*Registry*\nDocker Hub',
    ]);
  });

  it('quotes what the registry said, why, and the numbered fix with commands', () => {
    expect(all).toContain('*What the registry said* (`ErrImagePull`):\n```');
    expect(all).toContain('docker.io/library/nginx:1.27-alpin: not found```');
    expect(all).toContain('*Why*: The registry has no manifest for this tag or digest');
    expect(all).toMatch(
      /\*Fix\*\n1\. List the tags .*\n```skopeo list-tags docker:\/\/docker.io\/library\/nginx```\n2\. /,
    );
    expect(all).toContain('4. Point the owning workload at an image that exists');
  });

  it('adds affected pods, first and last seen, the incident id and the docs link', () => {
    const context = message.blocks.at(-1);
    expect(context?.type).toBe('context');
    expect(all).toContain(
      '*Affected:* 3 pods (`web-7d9c6b5f4-2`, `web-7d9c6b5f4-1`, `web-7d9c6b5f4-x2x9z`) on `node-1`, 9 failed pulls',
    );
    expect(all).toContain(
      '*First seen:* <!date^1772359200^{date_short_pretty} {time_secs}|2026-03-01 10:00:00 UTC>',
    );
    expect(all).toContain('*Last seen:* <!date^1772359440^');
    expect(all).toMatch(/\*Incident:\* `pw-[0-9a-z]{12}`/);
    expect(all).toContain('<https://kubernetes.io/docs/concepts/containers/images/|Docs>');
  });

  it('has a plain-text fallback for notifications', () => {
    expect(message.text).toMatch(
      /^Image tag or digest not found: prod-eu\/shop deployment\/web \(container web\), image nginx:1\.27-alpin\. The tag "1\.27-alpin" .* \[pw-[0-9a-z]{12}\]$/,
    );
  });

  it('turns resolved, with a thread reply saying how long it lasted', () => {
    let incident = incidentOf({}, 1);
    incident = absorb(
      incident,
      { ...incident.latest!, ...recoveryOf(incident), observedAt: T0 + 12 * MIN + 30_000 },
      DEFAULT_WINDOWS,
    );
    const resolved = settle(incident, T0 + 20 * MIN, DEFAULT_WINDOWS);
    const view = viewOf(resolved);
    const rendered = renderIncidentMessage(view);
    expect(rendered.blocks[0]).toMatchObject({ text: { text: 'Resolved: Image tag or digest not found' } });
    expect(rendered.text).toMatch(/^Resolved: /);
    expect(textsOf(rendered).join('\n')).toContain(':white_check_mark: *Resolved* after 12 min');
    expect(renderResolutionReply(view).text).toMatch(
      /^:white_check_mark: Resolved after 12 min \(from <!date\^1772359200\^.*> to <!date\^1772359950\^.*>\): 1 pod affected, 3 failed pulls\./,
    );
  });

  it('stays within Slack’s limits for an ordinary incident', () => {
    expectWithinLimits(message);
    expect(liveTokens(message)).toEqual([]);
  });
});

const recoveryOf = (incident: Incident): PullObservation => ({
  kind: 'recovered',
  key: incident.key,
  podUid: 'uid-0',
  pod: incident.latest!.pod,
  node: 'node-1',
  containerType: 'regular',
  reason: 'ErrImagePull',
  message: incident.latest!.message,
  firstSeen: T0,
  lastSeen: T0 + 4 * MIN,
  count: 3,
  observedAt: T0 + 12 * MIN,
  recovery: 'started',
  annotations: {},
  verdict: incident.latest!.verdict,
});

describe('untrusted text', () => {
  const INJECTIONS = [
    '<!channel>',
    '<!here>',
    '<!everyone>',
    '<!subteam^S123|@oncall>',
    '<@U024BE7LH>',
    '<#C024BE7LH|general>',
    '<https://evil.example|click here>',
    '<mailto:x@evil.example|mail>',
    '@channel',
    '@here',
    '@everyone',
    '```',
    '`',
    '\u202eexe.txt',
    '&lt;!channel&gt;',
    '&',
  ];

  it('escapes &, < and > and defuses bare broadcasts', () => {
    expect(escapeMrkdwn('a & b <!channel> @here @Everyone')).toBe(
      'a &amp; b &lt;!channel&gt; @\u200bhere @\u200bEveryone',
    );
    expect(escapeMrkdwn('x\u202e\u200by\u0007')).toBe('xy');
  });

  it('cuts after escaping, never inside an entity', () => {
    expect(escapeClip('<<<<', 7)).toBe('&lt;…');
    expect(escapeClip('ab<', 5)).toBe('ab…');
    expect(escapeClip('short', 10)).toBe('short');
  });

  it('renders every injection inert, wherever it comes from', () => {
    const name = fc
      .array(fc.oneof(fc.constantFrom(...INJECTIONS), fc.string({ maxLength: 20 })), { maxLength: 6 })
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(
        fc.record({
          cluster: name,
          namespace: name,
          workload: name,
          pod: name,
          container: name,
          image: name,
          message: name,
        }),
        (names) => {
          const filled = Object.fromEntries(
            Object.entries(names).map(([key, value]) => [key, value || key]),
          ) as Names;
          const view = viewOf(incidentOf(filled, 2));
          for (const message of [renderIncidentMessage(view), renderResolutionReply(view)])
            expectInert(message);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('keeps a code span closed whatever the name holds', () => {
    const view = viewOf(incidentOf({ pod: 'web`*bold*`<@U1>' }));
    expect(textsOf(renderIncidentMessage(view)).join('\n')).toContain('`webˋ*bold*ˋ&lt;@U1&gt;`');
  });
});

describe('limits', () => {
  it('holds for hostile sizes: a 1 MiB registry message, huge names, many fix steps', () => {
    const huge = '<@U1>'.repeat(200_000);
    const incident = incidentOf(
      { message: huge, pod: huge.slice(0, 5000), image: `nginx:${'a'.repeat(5000)}` },
      30,
    );
    const view = viewOf(incident);
    const steps = Array.from({ length: 200 }, (_, i) => ({
      text: `step ${i} ${huge.slice(0, 3000)}`,
      command: huge.slice(0, 4000),
    }));
    const message = renderIncidentMessage({
      ...view,
      verdict: { ...view.verdict, fix: { ...view.verdict.fix, steps } },
    });
    expectWithinLimits(message);
    expect(message.blocks.at(-1)?.type).toBe('context');
    expect(liveTokens(message)).toEqual([]);
  });

  it('caps the header at 150 characters', () => {
    const view = viewOf(incidentOf());
    const long = renderIncidentMessage({ ...view, verdict: { ...view.verdict, title: 'x'.repeat(400) } });
    expect(long.blocks[0]).toMatchObject({ text: { text: `${'x'.repeat(149)}…` } });
  });

  it('shows only a plain https docs link as a link', () => {
    const view = viewOf(incidentOf());
    const message = renderIncidentMessage({
      ...view,
      verdict: { ...view.verdict, fix: { ...view.verdict.fix, docs: 'javascript:alert(1)|<!channel>' } },
    });
    expect(liveTokens(message)).toEqual([]);
    expect(textsOf(message).join('\n')).toContain('javascript:alert(1)|&lt;!channel&gt;');
  });
});

describe('durations', () => {
  it.each([
    [45_000, '45 s'],
    [90_000, '1 min 30 s'],
    [12 * MIN + 30_000, '12 min'],
    [65 * MIN, '1 h 5 min'],
    [50 * 60 * MIN, '2 d 2 h'],
  ])('%d ms reads %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

/** A storm bucket whose members are these incidents (joined in order, a second apart). */
const stormOf = (incidents: Incident[]): StormBucket =>
  stormBucketOf(incidents, {
    openedAt: T0,
    spacingMs: 1000,
    windows: { stormThreshold: 5, stormWindowMs: 2 * MIN, stormHoldMs: 30_000 },
  });

const RATE_LIMITED =
  'Failed to pull image "nginx:1.27": toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit';

describe('the storm roll-up', () => {
  const storm = (count: number, names: Names = {}) =>
    stormOf(
      Array.from({ length: count }, (_, i) =>
        incidentOf(
          {
            image: 'nginx:1.27',
            message: RATE_LIMITED,
            ...names,
            workload: `${names.workload ?? 'svc'}-${i}`,
          },
          1 + (i % 2),
        ),
      ),
    );

  it('says what, where and how many in its header and notification text', () => {
    const message = renderStormMessage(stormView(storm(23, { cluster: 'prod' })));
    expect(message.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: 'Registry rate limit reached (Docker Hub): 23 workloads in prod',
        emoji: true,
      },
    });
    expect(message.text).toMatch(
      /^Storm: Registry rate limit reached \(Docker Hub\): 23 workloads in prod \[sg-[0-9a-z]{12}\.1\]$/,
    );
    const texts = textsOf(message).join('\n');
    expect(texts).toContain('23 new incidents with the same cause in `prod` (Docker Hub)');
    expect(texts).toContain('*Why*: ');
    expect(texts).toContain(':red_circle: `shop` `deployment/svc-0` (container `web`): 1 pod');
    expect(texts).toContain('*Affected*\n23 workloads, 34 pods');
  });

  it('counts failing, recovering and resolved members, and turns resolved when all are', () => {
    const bucket = storm(6);
    const ids = Object.keys(bucket.members);
    bucket.members[ids[0]!] = { ...bucket.members[ids[0]!]!, status: 'resolved', failingContainers: 0 };
    bucket.members[ids[1]!] = { ...bucket.members[ids[1]!]!, failingContainers: 0 };
    const view = stormView(bucket);
    expect([view.failing, view.recovering, view.resolved, view.status]).toEqual([4, 1, 1, 'open']);
    expect(view.members.map((member) => member.status === 'resolved')).toEqual([
      false,
      false,
      false,
      false,
      false,
      true,
    ]);
    expect(textsOf(renderStormMessage(view)).join('\n')).toContain('(4 failing, 1 recovering, 1 resolved)');

    for (const id of ids)
      bucket.members[id] = { ...bucket.members[id]!, status: 'resolved', failingContainers: 0 };
    const over = renderStormMessage(stormView(bucket));
    expect(over.text).toMatch(/^Resolved storm: /);
    expect((over.blocks[0] as { text: { text: string } }).text.text).toMatch(/^Resolved: /);
  });

  it('lists at most 40 members and stays within Slack’s limits for 1,000', () => {
    const bucket = storm(1);
    const [first] = Object.values(bucket.members);
    for (let i = 0; i < 1000; i++) {
      const id = `pw-${String(i).padStart(12, '0')}`;
      bucket.members[id] = {
        ...first!,
        incidentId: id,
        namespace: `namespace-${'x'.repeat(40)}-${i}`,
        workload: { kind: 'Deployment', name: `${'w'.repeat(200)}-${i}` },
      };
    }
    const message = renderStormMessage(stormView(bucket));
    expectWithinLimits(message);
    const texts = textsOf(message).join('\n');
    expect(texts).toContain('…and 961 more incidents.');
  });

  it('renders hostile names inert, in the roll-up and in the replies that name an incident', () => {
    const name = fc
      .array(
        fc.oneof(
          fc.constantFrom('<!channel>', '<@U024BE7LH>', '<https://evil.example|x>', '@here', '`', '\u202e'),
          fc.string({ maxLength: 20 }),
        ),
        { maxLength: 5 },
      )
      .map((parts) => parts.join(' '));
    fc.assert(
      fc.property(fc.record({ cluster: name, namespace: name, workload: name, container: name }), (names) => {
        const filled = Object.fromEntries(
          Object.entries(names).map(([key, value]) => [key, value || key]),
        ) as Names;
        const bucket = storm(5, filled);
        const view = viewOf(incidentOf({ ...filled, message: RATE_LIMITED }));
        for (const message of [
          renderStormMessage(stormView(bucket)),
          renderResolutionReply(view, { named: true }),
          renderReopenReply(view, { named: true }),
        ])
          expectInert(message);
      }),
      { numRuns: 100 },
    );
  });
});

describe('the watchdog’s messages', () => {
  const view = (cluster: string, backAt?: number) => ({
    cluster,
    status: backAt === undefined ? ('silent' as const) : ('alive' as const),
    silence: 1,
    silentSince: T0,
    declaredAt: T0 + 10 * MIN,
    ...(backAt === undefined ? {} : { backAt }),
    silenceMs: 10 * MIN,
    forwarderVersion: '0.1.0',
  });

  it('warn once with what to check, and say when it is back', () => {
    const warning = renderSilenceWarning(view('prod-eu'));
    expect(warning.text).toBe(
      'Forwarder silent: no heartbeat from prod-eu for more than 10 min; its image pull failures are not being reported.',
    );
    expect(textsOf(warning).join('\n')).toContain(
      '```kubectl -n pullwatch get pods -l app.kubernetes.io/name=pullwatch-forwarder```',
    );
    const back = renderSilenceWarning(view('prod-eu', T0 + 25 * MIN));
    expect((back.blocks[0] as { text: { text: string } }).text.text).toBe(
      'Resolved: forwarder silent: prod-eu',
    );
    expect(renderForwarderBackReply(view('prod-eu', T0 + 25 * MIN)).text).toContain(
      'after 25 min of silence',
    );
  });

  it('render a hostile cluster name inert', () => {
    fc.assert(
      fc.property(
        fc
          .array(
            fc.oneof(
              fc.constantFrom('<!channel>', '<@U1>', '<https://x.example|y>', '@here', '&', '`'),
              fc.string({ maxLength: 10 }),
            ),
            { minLength: 1, maxLength: 5 },
          )
          .map((parts) => parts.join(' ')),
        (cluster) => {
          for (const message of [
            renderSilenceWarning(view(cluster)),
            renderSilenceWarning(view(cluster, T0 + 20 * MIN)),
            renderForwarderBackReply(view(cluster, T0 + 20 * MIN)),
          ])
            expectInert(message);
        },
      ),
      { numRuns: 100 },
    );
  });
});
