/**
 * The forwarder as a process: configuration errors exit 2 with one line, and SIGTERM flushes what
 * is queued or in flight before exiting.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../support/local-server';
import { Lab, NOT_FOUND } from './lab';

jest.setTimeout(40_000);

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'forwarder', 'main.ts');

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

const run = (env: Record<string, string>): { child: ChildProcess; exited: Promise<Exited> } => {
  const child = spawn(process.execPath, ['-r', 'tsx/cjs', MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exited>((resolve) =>
    child.on('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, exited };
};

const until = async (
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

it('exits 2 with one line naming a missing or invalid variable', async () => {
  const missing = await run({ PULLWATCH_CLUSTER: 'lab', AWS_REGION: 'eu-west-1' }).exited;
  expect(missing.code).toBe(2);
  expect(missing.stderr).toBe(
    'pullwatch forward: PULLWATCH_EVENT_BUS is not set: the name or ARN of the EventBridge bus\n',
  );
  expect(missing.stdout).toBe('');
});

describe('SIGTERM', () => {
  let lab: Lab;

  beforeEach(async () => {
    lab = await new Lab().start();
  });

  afterEach(async () => {
    await lab.stop();
  });

  it('ships what is in flight and queued, saves the checkpoint, and exits 0', async () => {
    const port = await freePort();
    const { child, exited } = run({
      ...lab.env({ PULLWATCH_METRICS_PORT: String(port), PULLWATCH_FLUSH_SECONDS: '10' }),
      AWS_ACCESS_KEY_ID: 'AKIDPULLWATCHTEST',
      AWS_SECRET_ACCESS_KEY: 'pullwatch-test-secret',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      await until(async () => {
        try {
          return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
        } catch {
          return false;
        }
      }, 'the forwarder to be ready');
      await lab.bus.waitFor((events) => events.some((event) => event.detailType === 'ForwarderHeartbeat'));

      // EventBridge becomes slow: the first failure is in flight when SIGTERM arrives, the second queued.
      lab.bus.latencyMs = 1500;
      const first = lab.failPull(lab.deploymentPod('first'), NOT_FOUND);
      const received = lab.bus.received;
      await until(() => lab.bus.received > received, 'the PutEvents call to arrive');
      const second = lab.failPull(lab.deploymentPod('second'), NOT_FOUND);
      await new Promise((resolve) => setTimeout(resolve, 150));
      child.kill('SIGTERM');
      const { code, stdout } = await exited;

      expect(code).toBe(0);
      expect(lab.shipped(first, second).sort()).toEqual(
        [
          `ImagePullFailed ${first.metadata.name} not-found`,
          `ImagePullFailed ${second.metadata.name} not-found`,
        ].sort(),
      );
      const messages = stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(messages).toEqual(
        expect.arrayContaining(['signal received', 'forwarder stopped; everything shipped']),
      );
      const checkpoint = JSON.parse(readFileSync(lab.stateFile, 'utf8')) as {
        episodes: Array<{ pod: string }>;
      };
      expect(checkpoint.episodes.map((episode) => episode.pod).sort()).toEqual(
        [first.metadata.name, second.metadata.name].sort(),
      );
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
