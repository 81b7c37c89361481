/**
 * The front door: `npm start` on a machine with no kubeconfig at all (a child process, HOME an empty
 * folder, no KUBECONFIG) plays the built-in demo and keeps running until Ctrl-C; `--demo` plays it
 * anywhere, every story told; the demo is the shipped recordings, interleaved.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_NEXT_STEPS } from '../../local/local-mode';
import { DEMO_STORIES, demoRecording } from '../../local/demo';
import { parseRecording } from '../../local/recording';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-demo-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const launch = (command: string, args: string[], env: NodeJS.ProcessEnv) => {
  const child: ChildProcess = spawn(command, args, {
    cwd: ROOT,
    detached: true, // its own process group: Ctrl-C goes to the group, as from a terminal
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 60_000, afterExit = false) => {
    const until = Date.now() + timeoutMs;
    while (!pattern.test(output.stdout)) {
      if (Date.now() > until || (!afterExit && child.exitCode !== null)) {
        throw new Error(`no ${pattern} in:\n${output.stdout}\nstderr:\n${output.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  };
  return { child, output, exited, waitFor, kill };
};

describe('the built-in demo', () => {
  it('interleaves every shipped recording, in time order, as cluster demo', () => {
    const demo = demoRecording();
    expect(demo.cluster).toBe('demo');
    const ats = demo.changes.map((change) => change.at);
    expect(ats).toEqual([...ats].sort((a, b) => a - b));
    const shipped = DEMO_STORIES.map((file) =>
      parseRecording(readFileSync(join(ROOT, 'test', 'fixtures', 'recordings', file), 'utf8')),
    );
    expect(demo.changes).toHaveLength(shipped.reduce((sum, recording) => sum + recording.changes.length, 0));
    // One starts every 15 s: the last story's first change comes 45 s in.
    expect(demo.changes.at(-1)!.at).toBe(45_000 + shipped.at(-1)!.changes.at(-1)!.at);
  });

  it('is what npm start plays with no kubeconfig at all: a banner, the stories, running until Ctrl-C', async () => {
    const home = mkdtempSync(join(dir, 'home-'));
    const run = launch('npm', ['start', '--silent'], { HOME: home });
    try {
      await run.waitFor(/Ctrl-C to stop\./);
      const banner = run.output.stdout.split('\n');
      expect(banner[0]).toBe(
        'pullwatch demo · no kubeconfig on this machine, so this is a demo: the built-in recordings, played as cluster demo at 2× speed',
      );
      expect(banner).toContain(DEMO_NEXT_STEPS);
      expect(DEMO_NEXT_STEPS).toMatch(/KUBECONFIG.*kubectl config use-context.*SLACK_BOT_TOKEN/);
      // The first story reaches "Slack" (the terminal) and the demo keeps running.
      await run.waitFor(/┌─ Slack .*new message/);
      expect(run.child.exitCode).toBeNull();
      process.kill(-run.child.pid!, 'SIGINT');
      // npm itself dies of the signal; pullwatch under it stops in order.
      await run.exited;
      await run.waitFor(/stopping \(SIGINT received\)…\n(.*\n)*stopped\.\n$/, 15_000, true);
      expect(run.output.stderr).toBe('');
    } finally {
      run.kill();
    }
  });

  it('plays anywhere with --demo, every story told, and exits with --exit', async () => {
    const run = launch(
      process.execPath,
      ['bin/pullwatch.js', 'start', '--demo', '--speed', '16', '--exit', '--data', join(dir, 'asked')],
      {
        HOME: dir,
        KUBECONFIG: join(dir, 'a-kubeconfig-that-is-not-used'),
        PULLWATCH_QUIET_PERIOD: '500ms',
        PULLWATCH_STORM_HOLD: '1s',
      },
    );
    try {
      expect(await run.exited).toBe(0);
      const { stdout } = run.output;
      expect(stdout.split('\n')[0]).toBe(
        'pullwatch demo · the built-in recordings, played as cluster demo at 16× speed',
      );
      for (const title of [
        'Image tag or digest not found',
        'Image pull secret missing',
        'Resolved: Registry error (5xx)',
        'Registry rate limit reached (Docker Hub)',
      ]) {
        expect(stdout).toContain(title);
      }
      expect(stdout).toContain('The demo has played');
      expect(run.output.stderr).toBe('');
    } finally {
      run.kill();
    }
  });
});
