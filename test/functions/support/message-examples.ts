/**
 * The messages functions/README.md shows, rendered by the real renderers from realistic state, and
 * their text in the form the README prints (each after a `<!-- example: <name> -->` marker).
 * test/functions/readme.test.ts checks that the README still shows exactly this;
 * `npx tsx test/functions/support/message-examples.ts --write` rewrites the README's examples (after
 * a deliberate change to a renderer or to the diagnosis), and without `--write` prints them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { stormView } from '#shared/incident-storm';
import {
  type Block,
  type SlackMessage,
  incidentView,
  renderForwarderBackReply,
  renderIncidentMessage,
  renderResolutionReply,
  renderSilenceWarning,
  renderStormMessage,
} from '#shared/slack-message';
import { checkSilence, forwarderView, heartbeatArrived } from '#shared/watchdog';
import { stormBucketOf } from '../../support/storm-bucket';

const T0 = Date.parse('2026-03-02T14:05:00Z');
const MIN = 60_000;

const ECR_IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/checkout:2.14.1';
const ECR_DENIED = `Failed to pull image "${ECR_IMAGE}": rpc error: code = Unknown desc = failed to pull and unpack image "${ECR_IMAGE}": failed to resolve reference "${ECR_IMAGE}": pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials`;

const RATE_LIMITED = (image: string) =>
  `Failed to pull image "${image}": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/${image}": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/${image.split(':')[0]}/manifests/sha256:4c0f: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit`;

interface Workload {
  cluster: string;
  namespace: string;
  name: string;
  container: string;
  image: string;
  message: string;
  pods: string[];
  serviceAccount?: string;
}

/** An incident as dedupe builds it: the workload's pods failing, each a few times. */
const incidentOf = (workload: Workload): Incident => {
  const fields = {
    cluster: workload.cluster,
    namespace: workload.namespace,
    workload: { kind: 'Deployment', name: workload.name },
    container: workload.container,
    image: workload.image,
  };
  const verdict = diagnose({
    reason: 'ErrImagePull',
    message: workload.message,
    image: workload.image,
    namespace: workload.namespace,
    pod: workload.pods[0],
    container: workload.container,
    workload: fields.workload,
    serviceAccount: workload.serviceAccount ?? 'default',
    pullSecrets: [],
  });
  const key = incidentKeyOf(fields, verdict.cause);
  let incident = newIncident(keyIdOf(key), 1, key);
  workload.pods.forEach((pod, index) => {
    const observation: PullObservation = {
      kind: 'failed',
      key,
      podUid: `uid-${pod}`,
      pod,
      node: `ip-10-0-${index + 1}-${17 + index}.eu-west-1.compute.internal`,
      containerType: 'regular',
      reason: 'ErrImagePull',
      message: workload.message,
      firstSeen: T0 + index * 20_000,
      lastSeen: T0 + 6 * MIN,
      count: 4 + index,
      observedAt: T0 + 6 * MIN + index,
      annotations: {},
      verdict,
    };
    incident = absorb(incident, observation, DEFAULT_WINDOWS);
  });
  return incident;
};

const CHECKOUT: Workload = {
  cluster: 'prod-eu',
  namespace: 'shop',
  name: 'checkout',
  container: 'checkout',
  image: ECR_IMAGE,
  message: ECR_DENIED,
  pods: ['checkout-6f7d9c8b5-2xkqp', 'checkout-6f7d9c8b5-9wz4m', 'checkout-6f7d9c8b5-tq8rn'],
  serviceAccount: 'checkout',
};

export const incidentExample = (): SlackMessage => renderIncidentMessage(incidentView(incidentOf(CHECKOUT))!);

/** The same incident after its pods recovered at 14:18 and nothing failed for the quiet period. */
export const resolvedExample = (): { message: SlackMessage; reply: SlackMessage } => {
  let incident = incidentOf(CHECKOUT);
  for (const container of Object.values(incident.containers)) {
    const latest = incident.latest!;
    incident = absorb(
      incident,
      {
        kind: 'recovered',
        key: incident.key,
        podUid: container.podUid,
        pod: container.pod,
        node: container.node,
        containerType: 'regular',
        reason: latest.reason,
        message: latest.message,
        firstSeen: Number(Object.keys(container.episodes)[0]),
        lastSeen: T0 + 6 * MIN,
        count: 1,
        observedAt: T0 + 13 * MIN,
        recovery: 'started',
        annotations: {},
        verdict: latest.verdict,
      },
      DEFAULT_WINDOWS,
    );
  }
  const view = incidentView(settle(incident, T0 + 16 * MIN, DEFAULT_WINDOWS))!;
  return { message: renderIncidentMessage(view), reply: renderResolutionReply(view) };
};

const STORM_WORKLOADS: Array<[string, string, string]> = [
  ['shop', 'cart', 'redis:7.2'],
  ['shop', 'catalog', 'nginx:1.27'],
  ['shop', 'checkout-worker', 'python:3.12-slim'],
  ['payments', 'ledger', 'postgres:16'],
  ['payments', 'fraud-scorer', 'python:3.12-slim'],
  ['search', 'indexer', 'elasticsearch:8.13.4'],
  ['search', 'query-api', 'nginx:1.27'],
  ['platform', 'grafana', 'grafana/grafana:11.0.0'],
];

/** A Docker Hub rate-limit storm in prod: 23 workloads, eight of them named here. */
export const stormExample = (): SlackMessage => {
  const incidents = Array.from({ length: 23 }, (_, index) => {
    const [namespace, name, image] = STORM_WORKLOADS[index] ?? [
      ['shop', 'payments', 'search'][index % 3]!,
      `batch-${String(index).padStart(2, '0')}`,
      'busybox:1.36',
    ];
    return incidentOf({
      cluster: 'prod',
      namespace,
      name,
      container: name,
      image,
      message: RATE_LIMITED(image),
      pods: Array.from({ length: 1 + (index % 3) }, (_, pod) => `${name}-7c9f${index}d-${pod}x2q`),
    });
  });
  const bucket = stormBucketOf(incidents, {
    channel: '#platform-alerts',
    openedAt: T0,
    spacingMs: 2_000,
    windows: { stormThreshold: 5, stormWindowMs: 2 * MIN, stormHoldMs: 30_000 },
  });
  // Two have recovered since.
  for (const member of Object.values(bucket.members).filter((m) => m.workload.name.startsWith('batch-0'))) {
    bucket.members[member.incidentId] = { ...member, failingContainers: 0 };
  }
  return renderStormMessage(stormView(bucket));
};

export const watchdogExamples = (): { warning: SlackMessage; back: SlackMessage } => {
  const beat = (minutes: number) => ({
    cluster: 'prod-eu',
    observedAt: new Date(T0 + minutes * MIN).toISOString(),
    failingContainers: 0,
    forwarderVersion: '0.1.0',
  });
  const alive = heartbeatArrived(undefined, beat(0), T0).state;
  const silent = checkSilence(alive, T0 + 10 * MIN + 20_000, 10 * MIN).state;
  const back = heartbeatArrived(silent, beat(27), T0 + 27 * MIN).state;
  return {
    warning: renderSilenceWarning(forwarderView(silent, 10 * MIN)!),
    back: renderForwarderBackReply(forwarderView(back, 10 * MIN)!),
  };
};

const indent = (text: string, width: number): string => text.split('\n').join(`\n${' '.repeat(width)}`);

/** A message as the README prints it: the fallback text, then each block's text. */
export const describeMessage = (message: SlackMessage): string => {
  const lines = [`text: ${message.text}`, ''];
  const label = (name: string) => `[${name}]`.padEnd(10);
  for (const block of message.blocks as Block[]) {
    switch (block.type) {
      case 'header':
        lines.push(`${label('header')}${block.text.text}`);
        break;
      case 'section':
        if (block.text !== undefined) lines.push(`${label('section')}${indent(block.text.text, 10)}`);
        if (block.fields !== undefined) {
          lines.push(
            `${label('fields')}${block.fields.map((field) => field.text.replace('\n', ' ')).join(' | ')}`,
          );
        }
        break;
      case 'context':
        lines.push(`${label('context')}${indent(block.elements.map((e) => e.text).join('\n'), 10)}`);
        break;
      case 'divider':
        lines.push('[divider]');
        break;
    }
  }
  return lines.join('\n');
};

export const readmeExamples = (): Record<'incident' | 'resolved' | 'storm' | 'warning' | 'back', string> => {
  const { warning, back } = watchdogExamples();
  const resolved = resolvedExample();
  const [header, status] = resolved.message.blocks;
  return {
    incident: describeMessage(incidentExample()),
    resolved: [
      describeMessage({ text: resolved.message.text, blocks: [header!, status!] }),
      '…',
      '',
      `thread reply: ${resolved.reply.text}`,
    ].join('\n'),
    storm: describeMessage(stormExample()),
    warning: describeMessage(warning),
    back: describeMessage(back),
  };
};

export const README_PATH = join(__dirname, '../../../functions/README.md');

/** The marker and fenced block an example is shown in. */
export const exampleBlock = (name: string, text: string): string =>
  `<!-- example: ${name} -->\n\`\`\`\n${text}\n\`\`\``;

/** The README with each example's block replaced by the current rendering. */
export const withCurrentExamples = (readme: string): string =>
  Object.entries(readmeExamples()).reduce((text, [name, example]) => {
    const block = new RegExp(`<!-- example: ${name} -->\\n\`\`\`\\n[\\s\\S]*?\\n\`\`\``);
    if (!block.test(text)) throw new Error(`functions/README.md has no <!-- example: ${name} --> block`);
    return text.replace(block, () => exampleBlock(name, example));
  }, readme);

if (require.main === module) {
  if (process.argv.includes('--write')) {
    writeFileSync(README_PATH, withCurrentExamples(readFileSync(README_PATH, 'utf8')));
  } else {
    for (const [name, text] of Object.entries(readmeExamples())) console.log(`${exampleBlock(name, text)}\n`);
  }
}
