/**
 * Local mode in-process: the shipped recordings replayed through the forwarder's pieces, the local
 * bus and the real handlers, with Slack rendered in the terminal and as Block Kit JSON; the store
 * surviving a restart and shared with `pullwatch incidents`; and the one-line answers to a missing
 * cluster or a bad setting.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openHistorySource } from '../../cli/history-source';
import { loadLocalConfig } from '../../local/config';
import { type LocalModeHandle, startLocalMode } from '../../local/local-mode';
import { type StartIo, startMain } from '../../local/main';
import { parseRecording } from '../../local/recording';
import { StoreBusy } from '../../local/store';
import { FakeKubeApi } from '../support/fake-kube-api';

jest.setTimeout(60_000);

const ROOT = join(__dirname, '..', '..');
const RECORDINGS = join(ROOT, 'test', 'fixtures', 'recordings');
/** Windows short enough for a test; the recordings play 80 times faster than recorded. */
const FAST = {
  PULLWATCH_STORM_HOLD: '200ms',
  PULLWATCH_QUIET_PERIOD: '300ms',
  PULLWATCH_UPDATE_INTERVAL: '1h',
};

let dir: string;
/** Local modes a failed test left running: stopped before the next test (dynalite must close). */
const afterCleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of afterCleanup.splice(0)) await stop();
});
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-local-mode-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  handle: LocalModeHandle;
  out: string[];
  err: string[];
  /** The framed Slack messages printed, as `<kind> · <first line of the message>`. */
  frames(): string[];
}

const replay = async (file: string, dataDir: string, env: Record<string, string> = {}): Promise<Run> => {
  const out: string[] = [];
  const err: string[] = [];
  const path = join(RECORDINGS, file);
  const handle = await startLocalMode({
    env: {},
    config: loadLocalConfig({ ...FAST, ...env }, { dataDir }),
    source: {
      kind: 'replay',
      recording: parseRecording(readFileSync(path, 'utf8'), file),
      file: path,
      speed: 80,
    },
    out: (text) => void out.push(text),
    err: (text) => void err.push(text),
    color: false,
    width: 100,
    cwd: ROOT,
  });
  return {
    handle,
    out,
    err,
    frames: () =>
      out
        .filter((text) => text.startsWith('┌─ Slack'))
        .map((text) => {
          const [title = '', first = ''] = text.split('\n');
          return `${/· (new message|message updated|thread reply) ·/.exec(title)?.[1]} · ${first.slice(2)}`;
        }),
  };
};

describe('replaying the shipped recordings', () => {
  /** Replays recordings side by side, each in its own data folder, until settled; then stops them. */
  const play = async (
    files: string[],
    check: (runs: Run[]) => Promise<void>,
    env: Record<string, string> = {},
  ) => {
    const runs: Run[] = [];
    try {
      runs.push(...(await Promise.all(files.map((file) => replay(file, join(dir, file), env)))));
      await Promise.all(runs.map((run) => run.handle.settled()));
      await check(runs);
      for (const run of runs) {
        expect(run.out.join('')).toMatch(
          /watching \d+ pods? in \d namespaces? · \d+ containers? failing to pull · \d+ open incidents?\n/,
        );
        expect(run.out.join('')).toContain('replay finished: every recorded change was played');
      }
    } finally {
      await Promise.all(runs.map((run) => run.handle.stop()));
    }
    for (const run of runs) expect(run.err).toEqual([]);
  };

  it('tells each story once, in the terminal and as Block Kit JSON', async () => {
    const files = ['tag-typo.jsonl', 'private-registry-no-secret.jsonl', 'registry-outage-recovers.jsonl'];
    await play(files, async ([typo, secret, outage]) => {
      expect(typo!.frames()).toEqual(['new message · Image tag or digest not found']);
      const typoMessage = typo!.out.find((text) => text.startsWith('┌─ Slack'))!;
      expect(typoMessage).toContain('│ ● Failing: 3 containers cannot pull the image.');
      expect(typoMessage).toContain(
        "kubectl set image deployment/web web='docker.io/library/nginx:<existing-tag>' -n shop",
      );

      expect(secret!.frames()).toEqual(['new message · Image pull secret missing']);
      expect(secret!.out.join('')).toContain('acr-pull');

      expect(outage!.frames()).toEqual([
        'new message · Registry error (5xx)',
        'message updated · Resolved: Registry error (5xx)',
        expect.stringMatching(/^thread reply · ✔ Resolved after \d+ s/),
      ]);

      // Block Kit JSON that pastes into Block Kit Builder: {"blocks": […]} and nothing else.
      const incidentId = /· (pw-[0-9a-z]{12}) /.exec(typoMessage)![1]!;
      const file = join(dir, 'tag-typo.jsonl', 'slack', incidentId, 'main.json');
      expect(typoMessage).toContain(`Block Kit JSON: ${file}`);
      const blockKit = JSON.parse(readFileSync(file, 'utf8')) as { blocks: Array<{ type: string }> };
      expect(Object.keys(blockKit)).toEqual(['blocks']);
      expect(blockKit.blocks[0]).toEqual({
        type: 'header',
        text: { type: 'plain_text', text: 'Image tag or digest not found', emoji: true },
      });
      for (const run of [typo, secret, outage]) {
        expect((await run!.handle.queries.list({ limit: 100 })).incidents).toHaveLength(1);
      }
    });
  });

  it('rolls a storm up into one message with every incident in its thread', async () => {
    await play(
      ['dockerhub-rate-limit-storm.jsonl'],
      async ([storm]) => {
        const frames = storm!.frames();
        // The roll-up lists the workloads that had joined when it was posted.
        expect(frames[0]).toMatch(
          /^new message · Registry rate limit reached \(Docker Hub\): [5-8] workloads in demo/,
        );
        expect(frames.slice(1)).toEqual(Array(8).fill('thread reply · Registry rate limit reached'));
        expect((await storm!.handle.queries.list({ limit: 100 })).incidents).toHaveLength(8);
      }, // A hold long enough for all of them to join, however slow the machine.
      { PULLWATCH_STORM_HOLD: '2s' },
    );
  });
});

describe('the watchdog', () => {
  it('says in Slack when a cluster stops sending heartbeats, as the deployed watchdog does', async () => {
    // A replay sends a heartbeat every 5 s: with a 1 s silence allowed, the gaps count as silences.
    const run = await replay('tag-typo.jsonl', join(dir, 'watchdog'), { PULLWATCH_SILENCE_AFTER: '1s' });
    afterCleanup.push(() => run.handle.stop());
    const until = Date.now() + 15_000;
    while (!run.frames().some((frame) => frame.startsWith('new message · Forwarder silent: demo'))) {
      if (Date.now() > until) throw new Error(`no silence warning in:\n${run.frames().join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});

describe('the data folder', () => {
  it('keeps incidents across restarts, is shared with the CLI while running, and is held by one local mode', async () => {
    const data = join(dir, 'persist');
    const first = await replay('tag-typo.jsonl', data);
    afterCleanup.push(() => first.handle.stop());
    await first.handle.settled();
    expect(existsSync(join(data, 'store.lock'))).toBe(true);

    await expect(replay('tag-typo.jsonl', data)).rejects.toThrow(StoreBusy);

    // `pullwatch incidents` while local mode runs: through the running store.
    const source = await openHistorySource({ data });
    expect((await source.queries.list({ limit: 10 })).incidents).toHaveLength(1);
    await source.close();

    await first.handle.stop();
    expect(existsSync(join(data, 'store.lock'))).toBe(false);

    const second = await replay('registry-outage-recovers.jsonl', data);
    afterCleanup.push(() => second.handle.stop());
    await second.handle.settled();
    const incidents = (await second.handle.queries.list({ limit: 10 })).incidents;
    expect(incidents.map((incident) => incident.cause).sort()).toEqual([
      'image-not-found',
      'registry-unavailable',
    ]);
    await second.handle.stop();
    expect(readdirSync(join(data, 'slack')).sort()).toEqual(
      [...incidents.map((incident) => incident.incidentId), 'posts.jsonl'].sort(),
    );
  });
});

describe('pullwatch start: one clear line when it cannot run', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    const streams: StartIo = {
      out: (text) => void out.push(text),
      err: (text) => void err.push(text),
      color: false,
      cwd: ROOT,
    };
    return { out, err, streams };
  };

  it('says the kubeconfig KUBECONFIG names does not exist (the user meant it), and offers --replay', async () => {
    const { out, err, streams } = io();
    const kubeconfig = join(dir, 'no-such-kubeconfig');
    expect(
      await startMain(
        { data: join(dir, 'none') },
        { HOME: join(dir, 'no-home'), KUBECONFIG: kubeconfig },
        streams,
      ),
    ).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      `pullwatch: no Kubernetes cluster: KUBECONFIG names ${kubeconfig}, which does not exist; point it at a kubeconfig file, or try it without a cluster: npm start -- --replay test/fixtures/recordings/tag-typo.jsonl\n`,
    ]);
    expect(existsSync(join(dir, 'none'))).toBe(false);
  });

  it('says the cluster does not answer', async () => {
    const api = await new FakeKubeApi().start();
    const kubeconfig = api.writeKubeconfig(dir);
    await api.stop();
    const { err, streams } = io();
    expect(await startMain({}, { KUBECONFIG: kubeconfig }, streams)).toBe(1);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(
      /^pullwatch: cannot reach the cluster of kubeconfig context "fake" \(http:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED.*; start it, or point KUBECONFIG .* npm start -- --replay/,
    );
  });

  it.each([
    [
      {},
      { PULLWATCH_QUIET_PERIOD: 'soon' },
      2,
      /PULLWATCH_QUIET_PERIOD must be a duration like 30s, 5m.*got "soon"/,
    ],
    [{}, { SLACK_BOT_TOKEN: 'xoxb-1' }, 2, /PULLWATCH_SLACK_CHANNEL is not set: SLACK_BOT_TOKEN is/],
    [{ speed: '2' }, { KUBECONFIG: 'no-such-kubeconfig' }, 2, /--exit and --speed go with --replay <file>/],
    [{ demo: true, replay: 'x.jsonl' }, {}, 2, /give --demo or --replay <file>, not both/],
    [{ replay: 'no-such-file.jsonl' }, {}, 2, /cannot read the recording no-such-file.jsonl: ENOENT/],
    [
      { replay: 'package.json' },
      {},
      2,
      /not a recording: package.json:1: not JSON|not a recording: package.json:\d+/,
    ],
    [
      { replay: 'test/fixtures/recordings/tag-typo.jsonl', speed: '0' },
      {},
      2,
      /--speed must be a number above 0/,
    ],
  ])('%j with %j exits %d', async (options, env, code, message) => {
    const { err, streams } = io();
    expect(await startMain({ data: join(dir, 'unused'), ...options }, env, streams)).toBe(code);
    expect(err).toHaveLength(1);
    expect(err[0]).toMatch(message);
  });
});
