/**
 * A burst of failing workloads for local mode under fire: `pullwatch start` as a real child process
 * (its own process group, so Ctrl-C and kill -9 reach it as from a terminal) against the fake
 * Kubernetes API and the fake Slack, and what Slack ends up with, per workload.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type FakeKubeApi, podObject, setContainerState } from '../../support/fake-kube-api';
import type { FakeSlack } from '../../support/fake-slack';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'bin', 'pullwatch.js');

export const TOKEN = 'xoxb-burst-token';
export const CHANNEL_ID = 'C0BURST001';

/** `count` StatefulSets, one pod each, all failing to pull a tag that does not exist. */
export const failWorkloads = (api: FakeKubeApi, count: number, from = 0): string[] => {
  const names: string[] = [];
  for (let index = from; index < from + count; index++) {
    const name = `db-${String(index).padStart(3, '0')}`;
    const image = `docker.io/library/postgres:16-${name}`;
    const pod = podObject({
      name: `${name}-0`,
      namespace: 'burst',
      uid: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      image,
      container: 'postgres',
      owner: { kind: 'StatefulSet', name },
    });
    setContainerState(pod, 'postgres', {
      waiting: {
        reason: 'ErrImagePull',
        message: `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found`,
      },
    });
    api.apply('pods', pod);
    names.push(name);
  }
  return names;
};

/** Top-level posts per workload (`burst statefulset/db-007` in the fallback text). */
export const postsPerWorkload = (slack: FakeSlack): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const message of slack.topLevel(CHANNEL_ID)) {
    const workload = /statefulset\/(db-\d+)/.exec(message.text)?.[1] ?? `? ${message.text.slice(0, 60)}`;
    counts.set(workload, (counts.get(workload) ?? 0) + 1);
  }
  return counts;
};

export interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** To the whole group, as a terminal's Ctrl-C (SIGINT) or a kill -9 of everything. */
  signal(signal: NodeJS.Signals): void;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export const startLocal = (
  options: { data: string; home: string; api: FakeKubeApi; slack: FakeSlack },
  env: Record<string, string> = {},
): Started => {
  const child = spawn(process.execPath, [BIN, 'start', '--data', options.data], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: options.home,
      KUBECONFIG: options.api.writeKubeconfig(options.home),
      SLACK_BOT_TOKEN: TOKEN,
      PULLWATCH_SLACK_CHANNEL: '#alerts',
      SLACK_API_URL: options.slack.apiUrl,
      // One top-level post per workload: no storm, no hold, nothing resolves or updates meanwhile.
      PULLWATCH_STORM_HOLD: '0s',
      PULLWATCH_STORM_THRESHOLD: '100000',
      PULLWATCH_QUIET_PERIOD: '1h',
      PULLWATCH_UPDATE_INTERVAL: '1h',
      PULLWATCH_POST_LEASE_SECONDS: '10',
      PULLWATCH_HEARTBEAT_SECONDS: '5',
      PULLWATCH_FLUSH_SECONDS: '5',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    signal: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // Already gone.
      }
    },
    waitFor: async (pattern, timeoutMs = 20_000) => {
      const until = Date.now() + timeoutMs;
      while (!pattern.test(stdout)) {
        if (Date.now() > until || child.exitCode !== null) {
          throw new Error(`no ${pattern} in stdout:\n${stdout}\nstderr:\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
  };
};

/** Waits until `done()` holds, polling; fails with `describe()` after `timeoutMs`. */
export const until = async (done: () => boolean, describe: () => string, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

/** Every stderr line is one line of pullwatch's own (no stack trace, no Node warning). */
export const oneLineErrors = (stderr: string): string[] =>
  stderr
    .split('\n')
    .filter((line) => line !== '')
    .filter((line) => !line.startsWith('pullwatch: '));
