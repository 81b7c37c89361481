/**
 * `pullwatch start` (what `npm start` runs): local mode until Ctrl-C (SIGINT) or SIGTERM, against the
 * current kubeconfig context, a recording (`--replay`), or the built-in demo (`--demo`, and what a
 * machine with no kubeconfig at all gets).
 *
 * Exit codes: 0 after a clean stop; 1 when there is no reachable cluster or the data folder is
 * busy (one line on stderr says what to do); 2 for a configuration or usage error.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError, type Env } from '../functions/_common/env';
import { NoCluster, kubeconfigPresent, loadKubeTarget, probeCluster } from './cluster';
import { DEMO_DATA_DIR, DEMO_RECORDINGS_DIR, DEMO_SPEED, demoEnv, demoRecording } from './demo';
import { loadLocalConfig } from './config';
import { type LocalModeHandle, type LocalSource, startLocalMode } from './local-mode';
import { RecordingError, parseRecording } from './recording';
import { StoreBusy, StoreUnavailable, storeInUse } from './store';

export interface StartOptions {
  replay?: string;
  speed?: string;
  /** With --replay or --demo: exit once the recording has played and recovered incidents have resolved. */
  exit?: boolean;
  /** Play the built-in demo (also what happens when there is no kubeconfig at all). */
  demo?: boolean;
  data?: string;
}

export interface StartIo {
  out: (text: string) => void;
  err: (text: string) => void;
  color: boolean;
  width?: number;
  cwd: string;
}

const defaultIo = (): StartIo => ({
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  color: process.stdout.isTTY === true && process.env.NO_COLOR === undefined,
  ...(process.stdout.columns === undefined ? {} : { width: process.stdout.columns }),
  cwd: process.cwd(),
});

const MIB = 1 << 20;
/** Hours of a busy cluster's changes; a larger file is a mistake, and would be held in memory. */
const MAX_RECORDING_BYTES = 256 * MIB;

const namespacesOf = (env: Env): string[] =>
  (env.PULLWATCH_NAMESPACES ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');

const fail = (io: StartIo, code: number, message: string): number => {
  io.err(`pullwatch: ${message}\n`);
  return code;
};

/** Waits for SIGINT or SIGTERM (a second one exits at once); `dispose` stops listening. */
const untilSignal = (): { signal: Promise<NodeJS.Signals>; dispose: () => void } => {
  let first: (signal: NodeJS.Signals) => void = () => {};
  const dispose = () => {
    process.off('SIGINT', first);
    process.off('SIGTERM', first);
  };
  const signal = new Promise<NodeJS.Signals>((resolveSignal) => {
    first = (received) => {
      dispose();
      const again = () => process.exit(130);
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolveSignal(received);
    };
    process.on('SIGINT', first);
    process.on('SIGTERM', first);
  });
  return { signal, dispose };
};

export const startMain = async (
  options: StartOptions,
  env: Env = process.env,
  io: StartIo = defaultIo(),
): Promise<number> => {
  if (options.demo && options.replay !== undefined)
    return fail(io, 2, 'give --demo or --replay <file>, not both');
  // No kubeconfig at all: a first run on a laptop or a CI machine. Show the product, not an error.
  const demo = options.demo
    ? 'asked'
    : options.replay === undefined && !kubeconfigPresent(env)
      ? 'no-kubeconfig'
      : undefined;

  let config;
  try {
    config =
      demo === undefined
        ? loadLocalConfig(env, {
            ...(options.data === undefined ? {} : { dataDir: options.data }),
            cwd: io.cwd,
          })
        : loadLocalConfig(demoEnv(env), { dataDir: options.data ?? DEMO_DATA_DIR, cwd: io.cwd });
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RangeError) return fail(io, 2, error.message);
    throw error;
  }

  let source: LocalSource | undefined;
  const speed = options.speed === undefined ? (demo === undefined ? 1 : DEMO_SPEED) : Number(options.speed);
  if (!Number.isFinite(speed) || speed <= 0 || speed > 1000) {
    return fail(io, 2, `--speed must be a number above 0 (e.g. 2 or 0.5), got "${options.speed}"`);
  }
  if (demo !== undefined) {
    if (options.data === undefined) {
      // The demo's own folder, emptied so that every demo tells its stories afresh.
      if (storeInUse(config.dataDir)) {
        return fail(
          io,
          1,
          `a demo is already running on ${DEMO_DATA_DIR}; stop it first, or give this one --data <dir>`,
        );
      }
      rmSync(config.dataDir, { recursive: true, force: true });
    }
    source = { kind: 'replay', recording: demoRecording(), file: DEMO_RECORDINGS_DIR, speed, demo };
  } else if (options.replay !== undefined) {
    const file = resolve(io.cwd, options.replay);
    let text: string;
    try {
      const size = statSync(file).size;
      if (size > MAX_RECORDING_BYTES) {
        return fail(
          io,
          2,
          `the recording ${options.replay} is ${Math.ceil(size / MIB)} MiB; at most ${MAX_RECORDING_BYTES / MIB} MiB is played`,
        );
      }
      text = readFileSync(file, 'utf8');
    } catch (error) {
      return fail(io, 2, `cannot read the recording ${options.replay}: ${(error as Error).message}`);
    }
    try {
      source = { kind: 'replay', recording: parseRecording(text, options.replay), file, speed };
    } catch (error) {
      if (error instanceof RecordingError) return fail(io, 2, `not a recording: ${error.message}`);
      throw error;
    }
  } else if (options.exit || options.speed !== undefined) {
    return fail(io, 2, '--exit and --speed go with --replay <file> or --demo');
  }

  // Listening from here on: a Ctrl-C at any moment of the start stops cleanly, without a trace.
  const { signal, dispose } = untilSignal();
  let received: NodeJS.Signals | undefined;
  void signal.then((name) => (received = name));
  const stoppedEarly = () => {
    dispose();
    io.out(`stopped (${received} received before local mode started).\n`);
    return 0;
  };

  if (source === undefined) {
    try {
      const target = loadKubeTarget(env);
      await Promise.race([probeCluster(target, namespacesOf(env)), signal]);
      if (received !== undefined) return stoppedEarly();
      source = { kind: 'cluster', target };
    } catch (error) {
      dispose();
      if (error instanceof NoCluster) return fail(io, 1, error.message);
      throw error;
    }
  }

  let handle: LocalModeHandle;
  try {
    handle = await startLocalMode({ env, config, source, ...io });
  } catch (error) {
    dispose();
    if (error instanceof StoreBusy || error instanceof StoreUnavailable) return fail(io, 1, error.message);
    if (error instanceof ConfigError) return fail(io, 2, error.message);
    if (error instanceof Error && error.name === 'ConfigError') return fail(io, 2, error.message);
    // Anything else is still one line: the store and its lock were released on the way out.
    return fail(
      io,
      1,
      `local mode could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
  }

  const reason = await Promise.race([
    signal.then((name) => `${name} received`),
    ...(options.exit ? [handle.settled().then(() => 'replay played and settled')] : []),
  ]);
  dispose();
  io.out(`stopping (${reason})…\n`);
  await handle.stop();
  io.out('stopped.\n');
  return 0;
};
