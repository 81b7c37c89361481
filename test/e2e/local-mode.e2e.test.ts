/**
 * End to end: `pullwatch start` (local mode, a real child process, stopped with Ctrl-C) against the
 * fake Kubernetes API server playing a scripted, realistic timeline (test/e2e/support/timeline.ts:
 * pods created → ErrImagePull → ImagePullBackOff, again and again → fixed → running; a storm) and
 * the fake Slack Web API; then `pullwatch incidents` and `pullwatch stats` on what it stored.
 * Windows are short (environment), so the whole story takes seconds.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeKubeApi } from '../support/fake-kube-api';
import { FakeSlack, type SlackCall } from '../support/fake-slack';
import { cluster } from './support/cluster-player';
import { PullwatchProcess, run } from './support/process';
import { ACTS, STORM, e2eTimeline } from './support/timeline';

jest.setTimeout(90_000);

const TOKEN = 'xoxb-e2e-token';
const CHANNEL_ID = 'C0ALERTS01';

const headerOf = (call: SlackCall): string | undefined =>
  ((call.args.blocks ?? []) as Array<{ type: string; text?: { text: string } }>).find(
    (block) => block.type === 'header',
  )?.text?.text;

/** `fake/shop deployment/web` from a message's fallback text. */
const whereOf = (call: SlackCall): string =>
  /: (\S+\/\S+ \S+\/\S+) \(container/.exec(String(call.args.text ?? ''))?.[1] ?? '';

/** A Slack call as a line: what a person sees change in the channel. */
const describeCall = (call: SlackCall): string => {
  const text = String(call.args.text ?? '');
  if (call.method === 'chat.update') return `update ${headerOf(call)} · ${whereOf(call)}`;
  if (call.args.thread_ts !== undefined) {
    return /^:white_check_mark: Resolved/.test(text)
      ? `reply  ${text.replace(/after \d+ s \(from .*?\)/, 'after N s').replace(/\. Every.*$/, '')}`
      : `reply  ${text.slice(0, text.indexOf(' (container'))}`;
  }
  return `post   ${headerOf(call)}${whereOf(call) === '' ? '' : ` · ${whereOf(call)}`}`;
};

describe('local mode, end to end', () => {
  let api: FakeKubeApi;
  let slack: FakeSlack;
  let dir: string;
  let local: PullwatchProcess | undefined;

  beforeAll(async () => {
    api = await new FakeKubeApi().start();
    slack = await new FakeSlack({ token: TOKEN, channels: { alerts: CHANNEL_ID } }).start();
    dir = mkdtempSync(join(tmpdir(), 'pullwatch-e2e-'));
  });
  afterAll(async () => {
    local?.kill();
    await api.stop();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells Slack once per incident, resolves what recovered, stops on Ctrl-C, and remembers it all', async () => {
    const data = join(dir, 'data');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      KUBECONFIG: api.writeKubeconfig(dir),
      SLACK_BOT_TOKEN: TOKEN,
      PULLWATCH_SLACK_CHANNEL: '#alerts',
      SLACK_API_URL: slack.apiUrl,
      // Short windows: count changes never update the message (1 h), status changes do at once.
      PULLWATCH_UPDATE_INTERVAL: '1h',
      PULLWATCH_QUIET_PERIOD: '2s',
      PULLWATCH_REOPEN_WINDOW: '1m',
      PULLWATCH_STORM_WINDOW: '30s',
      PULLWATCH_STORM_THRESHOLD: '5',
      PULLWATCH_STORM_HOLD: '1s',
      PULLWATCH_HEARTBEAT_SECONDS: '5',
    };
    local = new PullwatchProcess(['start', '--data', data], env);
    await local.waitFor(/Ctrl-C to stop\./);
    // No PULLWATCH_CLUSTER: the cluster is named after the kubeconfig context.
    expect(local.stdout).toContain('pullwatch local mode · cluster fake (kubeconfig context fake');
    await local.waitFor(/watching 0 pods in 0 namespaces/);

    await cluster(api, e2eTimeline()).play(0, ACTS.end + 1);

    const calls = () =>
      slack.calls.filter(
        (call) =>
          (call.method === 'chat.postMessage' || call.method === 'chat.update') &&
          call.status === 200 &&
          call.error === undefined,
      );
    const expectedCalls = 14;
    const until = Date.now() + 20_000;
    while (calls().length < expectedCalls && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Nothing more comes: every incident was told once.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await local.waitFor(/watching 10 pods in 5 namespaces · .* · 7 open incidents\n/);

    const lines = calls().map(describeCall);
    const stormReplies = lines.slice(3, 3 + STORM.length);
    expect([...lines.slice(0, 3), ...lines.slice(3 + STORM.length)]).toEqual([
      'post   Image tag or digest not found · fake/shop deployment/web',
      'post   Image pull secret missing · fake/payments deployment/billing-api',
      // The roll-up lists the workloads that had joined when it was posted (5 at least: the threshold).
      expect.stringMatching(/^post {3}Registry rate limit reached \(Docker Hub\): [56] workloads in fake$/),
      'post   Registry error (5xx) · fake/orders deployment/orders-api',
      'update Resolved: Registry error (5xx) · fake/orders deployment/orders-api',
      'reply  :white_check_mark: Resolved after N s: 1 pod affected, 1 failed pull',
      'update Resolved: Image tag or digest not found · fake/shop deployment/web',
      'reply  :white_check_mark: Resolved after N s: 2 pods affected, 6 failed pulls',
    ]);
    // The storm: one roll-up, its six incidents threaded under it (in the order they were handled).
    expect(stormReplies.sort()).toEqual(
      STORM.map(
        ({ namespace, name }) => `reply  Registry rate limit reached: fake/${namespace} deployment/${name}`,
      ).sort(),
    );

    // Replies are in the thread of their incident's message; updates edit that message.
    const posts = calls();
    const rollup = slack.topLevel().find((message) => message.text.startsWith('Storm: '))!;
    for (const reply of posts.slice(3, 3 + STORM.length)) expect(reply.args.thread_ts).toBe(rollup.ts);
    const orders = slack.topLevel().find((message) => message.text.includes('orders-api'))!;
    const web = slack.topLevel().find((message) => message.text.includes('deployment/web'))!;
    expect(posts[3 + STORM.length + 1]!.args.ts).toBe(orders.ts);
    expect(posts[3 + STORM.length + 2]!.args.thread_ts).toBe(orders.ts);
    expect(posts[3 + STORM.length + 3]!.args.ts).toBe(web.ts);
    expect(posts[3 + STORM.length + 4]!.args.thread_ts).toBe(web.ts);
    expect(slack.topLevel()).toHaveLength(4);

    // Ctrl-C: a clean stop.
    local.signal('SIGINT');
    expect(await local.exited).toEqual({ code: 0, signal: null });
    expect(local.stdout).toMatch(/stopping \(SIGINT received\)…\nstopped\.\n$/);
    expect(local.stderr).toBe('');
    expect(existsSync(join(data, 'store.lock'))).toBe(false);

    // What it remembers.
    const listed = await run(['incidents', '--data', data], env);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const [header, ...rest] = listed.stdout.trimEnd().split('\n');
    expect(header).toMatch(
      /^ID +STATE +CAUSE +CLUSTER\/NAMESPACE\/WORKLOAD +IMAGE +FIRST SEEN \(UTC\) +DURATION +PODS$/,
    );
    const rows = rest.slice(0, -2).map((row) => {
      const cells = row.split(/ {2,}/);
      expect(cells[0]).toMatch(/^pw-[0-9a-z]{12}$/);
      expect(cells[5]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
      expect(cells[6]).toMatch(cells[1] === 'resolved' ? /^\d+ s$/ : /^\d+ s\+$/);
      return [cells[1], cells[2], cells[3], cells[4], cells[7]].join(' | ');
    });
    expect(rows.sort()).toEqual(
      [
        'resolved | registry-unavailable | fake/orders/deployment/orders-api | harbor.acme.internal/orders/orders-api:4.1.0 | 1',
        'resolved | image-not-found | fake/shop/deployment/web | nginx:1.27-alpin | 2',
        'open | pull-secret-missing | fake/payments/deployment/billing-api | acmeprod.azurecr.io/payments/billing-api:2.3.1 | 1',
        ...STORM.map(
          ({ namespace, name, image }) =>
            `open | rate-limited | fake/${namespace}/deployment/${name} | ${image} | 1`,
        ),
      ].sort(),
    );
    expect(rest.at(-1)).toMatch(/^9 incidents first seen since \d{4}-\d\d-\d\d \d\d:\d\d UTC · local store /);

    const filtered = await run(
      ['incidents', '--data', data, '--cause', 'rate-limited', '-n', 'shop', '--open', '--json'],
      env,
    );
    const { incidents, plan } = JSON.parse(filtered.stdout) as {
      incidents: Array<{ workload: string; status: string }>;
      plan: { index: string };
    };
    expect(incidents.map((incident) => incident.workload).sort()).toEqual([
      'deployment/cart',
      'deployment/search',
    ]);
    expect(plan.index).toBe('byCause');

    const stats = await run(['stats', '--data', data], env);
    expect(stats.code).toBe(0);
    const statLines = stats.stdout.trimEnd().split('\n');
    expect(statLines[0]).toMatch(
      /^Incidents first seen since \S+ \S+ UTC in all clusters \(local store .*\)$/,
    );
    expect(statLines.slice(2).map((line) => line.replace(/ +\d+ s$/, ' N s'))).toEqual([
      'BY CAUSE              INCIDENTS  OPEN  RESOLVED  MEDIAN TIME TO RECOVER',
      'rate-limited                  6     6         0                       -',
      'image-not-found               1     0         1 N s',
      'pull-secret-missing           1     1         0                       -',
      'registry-unavailable          1     0         1 N s',
      '',
      'BY REGISTRY           INCIDENTS  OPEN  RESOLVED  MEDIAN TIME TO RECOVER',
      'docker.io                     7     6         1 N s',
      'acmeprod.azurecr.io           1     1         0                       -',
      'harbor.acme.internal          1     0         1 N s',
      'total                         9     7         2 N s',
      '',
      'Time to recover: from the first failed pull to the last affected container recovering.',
    ]);
  });
});
