/**
 * The built-in demo: the shipped recordings (test/fixtures/recordings, one story each), interleaved
 * so that one starts every 15 s, played in the terminal renderer. `npm start` plays it on a machine
 * with no kubeconfig at all (`pullwatch start --demo` anywhere), so a first run shows the product,
 * not an error.
 *
 * It has a data folder of its own (`.pullwatch/demo`), emptied at each start, so that each demo tells
 * its stories afresh and never mixes with the incidents of a real cluster.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Env } from '../functions/_common/env';
import { type Recording, interleave, parseRecording } from './recording';

export const DEMO_RECORDINGS_DIR = join(__dirname, '..', 'test', 'fixtures', 'recordings');
export const DEMO_STORIES = [
  'tag-typo.jsonl',
  'private-registry-no-secret.jsonl',
  'registry-outage-recovers.jsonl',
  'dockerhub-rate-limit-storm.jsonl',
] as const;
const STAGGER_MS = 15_000;

/** Where the demo keeps its store, Block Kit files and log (relative to the working folder). */
export const DEMO_DATA_DIR = '.pullwatch/demo';
/** Twice the recorded pace: the four stories take about a minute. */
export const DEMO_SPEED = 2;

/**
 * Windows short enough for the stories to end within the demo (a variable that is set wins): an
 * incident resolves after 20 s of quiet, a first post waits 5 s for a storm to gather.
 */
export const DEMO_WINDOWS: Readonly<Record<string, string>> = {
  PULLWATCH_QUIET_PERIOD: '20s',
  PULLWATCH_STORM_HOLD: '5s',
};

export const demoEnv = (env: Env): Env => {
  const withDefaults: Record<string, string | undefined> = { ...env };
  for (const [name, value] of Object.entries(DEMO_WINDOWS)) {
    if (!env[name]?.trim()) withDefaults[name] = value;
  }
  return withDefaults;
};

export const demoRecording = (): Recording =>
  interleave(
    DEMO_STORIES.map((file, index) => ({
      recording: parseRecording(readFileSync(join(DEMO_RECORDINGS_DIR, file), 'utf8'), file),
      offsetMs: index * STAGGER_MS,
    })),
    `${DEMO_STORIES.length} stories, one every ${STAGGER_MS / 1000} s: a tag typo, a private registry without its pull secret, a registry outage that recovers, and a Docker Hub rate-limit storm.`,
  );
