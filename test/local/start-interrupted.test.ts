/**
 * Ctrl-C (SIGINT to the process group, as a terminal sends it) and kill -9 at several moments of
 * `pullwatch start`, in a real child process on one data folder: each stop is clean (no stack
 * trace, no store process left behind), and after all of them a normal start plays its recording.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'pullwatch.js');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-interrupted-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const start = (data: string, extra: string[] = []): Started => {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'start',
      '--replay',
      'test/fixtures/recordings/tag-typo.jsonl',
      '--speed',
      '80',
      '--data',
      data,
      ...extra,
    ],
    {
      cwd: ROOT,
      // Its own process group, so that the signal can go to the group, as a terminal's does.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        PULLWATCH_STORM_HOLD: '200ms',
        PULLWATCH_QUIET_PERIOD: '300ms',
        PULLWATCH_UPDATE_INTERVAL: '1h',
      },
    },
  );
  const output = { stdout: '', stderr: '' };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, output, exited };
};

/** Store processes (local/dynalite-process.ts) still running on `data`. */
const storeProcesses = (data: string): number[] =>
  readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return command.includes('dynalite-process') && command.includes(data);
      } catch {
        return false;
      }
    })
    .map(Number);

const until = async (condition: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

type Moment = {
  name: string;
  when: (started: Started, data: string) => Promise<void>;
  signal: NodeJS.Signals;
};

const MOMENTS: Moment[] = [
  {
    name: 'while node loads',
    when: () => new Promise((resolve) => setTimeout(resolve, 30)),
    signal: 'SIGINT',
  },
  {
    name: 'as the lock appears (the store process starting)',
    when: (_started, data) => until(() => existsSync(join(data, 'store.lock')), 30_000, 'the lock'),
    signal: 'SIGINT',
  },
  {
    name: 'once the store process runs',
    when: (_started, data) => until(() => storeProcesses(data).length > 0, 30_000, 'the store process'),
    signal: 'SIGINT',
  },
  {
    name: 'as the banner is printed',
    when: async (started) =>
      until(() => started.output.stdout.includes('pullwatch local mode'), 30_000, 'the banner'),
    signal: 'SIGINT',
  },
  {
    name: 'with kill -9 once the store process runs',
    when: (_started, data) => until(() => storeProcesses(data).length > 0, 30_000, 'the store process'),
    signal: 'SIGKILL',
  },
  {
    name: 'just after the start',
    when: async (started) =>
      until(() => started.output.stdout.includes('Ctrl-C to stop.'), 30_000, 'the start'),
    signal: 'SIGINT',
  },
];

describe('pullwatch start, interrupted during start-up', () => {
  it('stops cleanly at every moment, and the folder then starts normally', async () => {
    const data = join(dir, 'data');
    for (const moment of MOMENTS) {
      const started = start(data);
      try {
        await moment.when(started, data);
        process.kill(-started.child.pid!, moment.signal);
        const { code, signal } = await started.exited;
        // Exited cleanly, or (before it listened for signals, or on kill -9) by the signal itself.
        expect({ moment: moment.name, code, signal, stderr: started.output.stderr }).toEqual({
          moment: moment.name,
          ...(code === 0 ? { code: 0, signal: null } : { code: null, signal: moment.signal }),
          stderr: expect.any(String),
        });
        if (moment.signal === 'SIGINT' && code === 0) expect(started.output.stdout).toMatch(/stopped/);
        expect(started.output.stderr).not.toMatch(/\n\s+at /);
        for (const line of started.output.stderr.split('\n').filter((text) => text !== '')) {
          expect(line).toMatch(/^pullwatch: /);
        }
        // No store process outlives its parent, whatever stopped it.
        await until(() => storeProcesses(data).length === 0, 15_000, `no store process (${moment.name})`);
      } finally {
        if (started.child.exitCode === null && started.child.signalCode === null) {
          process.kill(-started.child.pid!, 'SIGKILL');
        }
      }
    }

    const normal = start(data, ['--exit']);
    const { code } = await normal.exited;
    expect(
      normal.output.stderr.split('\n').filter((line) => line !== '' && !/took over the lock/.test(line)),
    ).toEqual([]);
    expect(normal.output.stdout).toContain('replay finished: every recorded change was played');
    expect(code).toBe(0);
    expect(existsSync(join(data, 'store.lock'))).toBe(false);
    const listed = spawnSync(process.execPath, [BIN, 'incidents', '--data', data, '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(listed.status).toBe(0);
    expect((JSON.parse(listed.stdout) as { incidents: Array<{ cause: string }> }).incidents).toEqual([
      expect.objectContaining({ cause: 'image-not-found' }),
    ]);
  });
});
