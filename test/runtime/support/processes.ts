// Child processes the lab starts, and the small waiting and port utilities around them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const OUTPUT_TAIL_BYTES = 16_384;

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  /** Rejects as soon as the daemon exits, with its last output; aborts a readiness wait early. */
  readonly exited: Promise<never>;
}

/**
 * Every daemon the lab starts is registered here, so `stopAll` can end exactly those, by pid. Each one
 * runs under `setpriv --pdeathsig KILL`: if the test process dies without cleaning up, so do they.
 */
export class Daemons {
  private readonly running: Daemon[] = [];

  /** Last resort if the test process ends without `stopAll` (a crash, process.exit): kill by pid. */
  private readonly killLeftovers = (): void => {
    for (const { child } of this.running) if (isAlive(child)) child.kill('SIGKILL');
  };

  constructor(private readonly setpriv: string) {
    process.once('exit', this.killLeftovers);
  }

  start(name: string, command: string, args: readonly string[]): Daemon {
    const child = spawn(this.setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<never>((_, reject) => {
      child.once('error', (error) => reject(new Error(`${name} could not start: ${error.message}`)));
      child.once('exit', (code, signal) =>
        reject(new Error(`${name} exited (code ${code}, signal ${signal}). Its output:\n${tail}`)),
      );
    });
    exited.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
    const daemon: Daemon = { name, child, exited };
    this.running.push(daemon);
    return daemon;
  }

  /** SIGTERM each daemon, then SIGKILL whatever is still alive after `graceMs`. */
  async stopAll(graceMs = 5_000): Promise<void> {
    const daemons = this.running.splice(0);
    process.off('exit', this.killLeftovers);
    await Promise.all(daemons.map((daemon) => stop(daemon.child, graceMs)));
  }
}

const isAlive = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

const stop = async (child: ChildProcess, graceMs: number): Promise<void> => {
  if (!isAlive(child) || child.pid === undefined) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (isAlive(child)) child.kill('SIGKILL');
  }, graceMs);
  await gone;
  clearTimeout(timer);
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true; fails with `what` after `timeoutMs`, or at once if `abort` rejects. */
export const waitUntil = async (
  what: string,
  probe: () => Promise<boolean> | boolean,
  timeoutMs: number,
  abort?: Promise<never>,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  const poll = async (): Promise<void> => {
    for (;;) {
      if (await probe()) return;
      if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(100);
    }
  };
  await (abort ? Promise.race([poll(), abort]) : poll());
};

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not allocate a port'));
      });
    });
  });

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command to completion and returns its output; never throws on a non-zero exit. */
export const run = (
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<CommandResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = options.timeoutMs
      ? setTimeout(() => {
          if (isAlive(child)) child.kill('SIGKILL');
        }, options.timeoutMs)
      : undefined;
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // a command may exit without reading its input
      child.stdin.end(options.input);
    }
  });

/** Runs a setup command that must succeed (openssl, htpasswd, ...). */
export const runOrThrow = async (
  command: string,
  args: readonly string[],
  options?: Parameters<typeof run>[2],
): Promise<string> => {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout;
};
