/**
 * End to end at fleet size: `pullwatch start --replay` (local mode, a real child process) plays the
 * shipped recording of a node agent on 2,000 nodes (test/fixtures/recordings/daemonset-fleet-outage.jsonl:
 * every pod fails, a third recovers, then the rest) against the fake Slack Web API. What Slack shows
 * is held against the recording's own truth (./support/fleet-truth.ts): exact counts, no all-clear
 * while a container still fails, and the time to recover up to the last container's recovery.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRecording } from '../../local/recording';
import { FakeSlack } from '../support/fake-slack';
import { fleetTruth } from './support/fleet-truth';
import { watchIncidentMessages } from './support/incident-messages';
import { PullwatchProcess, ROOT, run } from './support/process';
import { replayStartedAt } from './support/replay-clock';

jest.setTimeout(150_000);

const TOKEN = 'xoxb-fleet-token';
const FILE = join('test', 'fixtures', 'recordings', 'daemonset-fleet-outage.jsonl');
/** Twice as fast as recorded: the story (44 s) plays in 22 s. */
const SPEED = 2;

describe('local mode at fleet size (2,000 nodes)', () => {
  let slack: FakeSlack;
  let dir: string;
  let local: PullwatchProcess | undefined;

  beforeAll(async () => {
    slack = await new FakeSlack({ token: TOKEN, channels: { fleet: 'C0FLEET001' } }).start();
    dir = mkdtempSync(join(tmpdir(), 'pullwatch-fleet-'));
  });
  afterAll(async () => {
    local?.kill();
    await slack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts every container, resolves only after the last recovery, and times the recovery to it', async () => {
    const truth = fleetTruth(parseRecording(readFileSync(join(ROOT, FILE), 'utf8'), FILE));
    // The story, as recorded: 2,000 pods fail, 1,333 still fail once a third has recovered.
    expect(truth.affectedPods).toBe(2000);
    expect(truth.peakFailing).toBe(2000);
    expect(truth.plateau.failing).toBe(1333);

    const messages = watchIncidentMessages(slack);
    const data = join(dir, 'data');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      SLACK_BOT_TOKEN: TOKEN,
      PULLWATCH_SLACK_CHANNEL: '#fleet',
      SLACK_API_URL: slack.apiUrl,
      // Count changes show within a second; a resolution needs 2 s with nothing failing.
      PULLWATCH_UPDATE_INTERVAL: '1s',
      PULLWATCH_QUIET_PERIOD: '2s',
      PULLWATCH_STORM_HOLD: '0s',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    local = new PullwatchProcess(
      ['start', '--replay', FILE, '--speed', String(SPEED), '--exit', '--data', data],
      env,
    );
    await local.waitFor(/Ctrl-C to stop\./, 60_000);
    expect(await local.exited).toEqual({ code: 0, signal: null });
    expect(local.stderr).toBe('');
    expect(slack.topLevel()).toHaveLength(1);
    // Recording time t happened at startedAt + t / SPEED: the replay logs where its time 0 fell.
    const started = replayStartedAt(readFileSync(join(data, 'pullwatch.log'), 'utf8'));
    const recordingTimeOf = (at: number) => (at - started) * SPEED;

    const { shown, resolutions } = messages;
    const failingShown = shown.flatMap((message) => (message.failing === undefined ? [] : [message.failing]));
    if (!failingShown.includes(truth.plateau.failing)) {
      // The plateau lasts seconds; a loaded machine may fold it into one update (the exact figures
      // at any size are held by test/functions/fleet-scale.test.ts).
      console.warn(
        `the plateau of ${truth.plateau.failing} failing was not shown: ${[...new Set(failingShown)].join(', ')}`,
      );
    }
    // A message may lag: a failure still on its way is not counted yet, and the pod is not among the
    // affected ones it shows. Beyond those, it never shows fewer failing than the recording had.
    const notYetSeen = (message: (typeof shown)[number]) =>
      Math.max(0, truth.affectedAt(recordingTimeOf(message.at)) - (message.affectedPods ?? 0));
    const underReported = shown.filter(
      (message) =>
        message.failing !== undefined &&
        message.failing + notYetSeen(message) < truth.failingAt(recordingTimeOf(message.at)),
    );
    if (underReported.length > 0) {
      // The figures a failure needs: each message that showed too few, against the recording.
      console.warn(
        underReported
          .map(
            (message) =>
              `${message.method} at recording ${recordingTimeOf(message.at)} ms: ${message.failing} failing ` +
              `shown (${message.affectedPods} pods), ${truth.failingAt(recordingTimeOf(message.at))} recorded ` +
              `(${truth.affectedAt(recordingTimeOf(message.at))} pods)`,
          )
          .join('\n'),
      );
    }
    const trueSeconds = (truth.lastRecoveryAt - truth.firstFailureAt) / SPEED / 1000;
    const listed = await run(['incidents', '--data', data], env);
    const rows = listed.stdout.trimEnd().split('\n').slice(1, -2);
    const remembered = rows.map((row) => {
      const cells = row.split(/ {2,}/);
      return [cells[1], cells[2], cells[3], cells[7]?.replace(/,/g, '')].join(' | ');
    });
    // One comparison, so that a failure shows every figure that is wrong at once.
    expect({
      // Exact counts: every affected pod, never more.
      affectedPods: Math.max(...shown.map((message) => message.affectedPods ?? 0)),
      // Once every container failed, the count only falls, and the message may lag behind it but
      // never shows fewer failing than the recording has (however slow the machine).
      underReported: underReported.length,
      // No all-clear ("recovering" or "resolved") while the recording still has a container failing.
      allClearsWhileFailing: [
        ...shown.filter((message) => message.state !== 'failing'),
        ...resolutions,
      ].filter((message) => truth.failingAt(recordingTimeOf(message.at)) > 0).length,
      allClearShown: shown.some((message) => message.state !== 'failing'),
      resolutions: resolutions.length,
      resolvedPods: resolutions[0]?.affectedPods,
      // Up to the last container's recovery (whole seconds, shown and recorded).
      timeToRecover:
        resolutions[0] !== undefined && Math.abs(resolutions[0].seconds - trueSeconds) <= 1.5
          ? 'the true one'
          : `${resolutions[0]?.seconds} s instead of ${trueSeconds.toFixed(1)} s`,
      // What it remembers: one resolved incident of every pod.
      incidentsExit: listed.code,
      remembered,
    }).toEqual({
      affectedPods: truth.affectedPods,
      underReported: 0,
      allClearsWhileFailing: 0,
      allClearShown: true,
      resolutions: 1,
      resolvedPods: truth.affectedPods,
      timeToRecover: 'the true one',
      incidentsExit: 0,
      remembered: [
        `resolved | registry-unavailable | fleet/kube-system/daemonset/node-agent | ${truth.affectedPods}`,
      ],
    });
  });
});
