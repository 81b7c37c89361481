/**
 * A function's environment, derived from its own config loader (`functions/<name>/config.ts`) instead
 * of a list of variable names kept here. The stack states the typed config it wants the function to
 * run with (`NotifyConfig`, `DedupeConfig`…); this module runs the loader against recording
 * environments to learn which variables it reads and how it parses them, and returns the variables
 * that make the loader produce exactly that config.
 *
 * So a renamed variable (`PULLWATCH_QUIET_PERIOD_SECONDS` → `PULLWATCH_QUIET_PERIOD`) or a new format
 * (`120` → `2m`) needs no change here, a new config field fails type-checking where the stack builds
 * the config, and a variable the stack has no value for is reported (`unmapped`).
 *
 * How:
 * 1. Discover: run the loader with nothing set. When it throws naming a variable it read, give that
 *    variable plausible values until it is satisfied. This yields every variable read and a working
 *    baseline environment.
 * 2. Map: for each leaf of the wanted config (e.g. `windows.quietPeriodMs`), find the variable that
 *    moves that leaf (set alone on top of the baseline), then the spelling of the wanted value the
 *    loader turns back into exactly that value (`2m`, `120s`, `120`…).
 * 3. Check: the loader, given only the derived environment, must return every mapped leaf as wanted.
 *    Leaves no variable sets are reported (`unsettable`): the function does not take them from its
 *    environment (dedupe has no use for the Slack update interval).
 *
 * Unresolved CDK tokens (a table name, a secret ARN) are strings the loaders pass through: their
 * variable is found with stand-in strings and the token itself is put in the environment.
 */
import { Token } from 'aws-cdk-lib';
import { durationText } from '#shared/duration';

export type Env = Readonly<Record<string, string | undefined>>;
export type ConfigLoader<C> = (env: Env) => C;

export interface DerivedEnvironment {
  /** The variables to set: exactly the ones the loader reads and the stack has a value for. */
  environment: Record<string, string>;
  /** Every variable the loader reads, in the order it reads them. */
  reads: string[];
  /** Variables the loader reads that no leaf of the wanted config maps to (left unset). */
  unmapped: string[];
  /**
   * Leaves of the wanted config (`windows.silenceMs`) that no variable sets: the function keeps its
   * own value for them (it does not use that setting, or does not take it from its environment).
   */
  unsettable: string[];
}

export class EnvironmentDerivationError extends Error {
  override readonly name = 'EnvironmentDerivationError';
}

const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** Values tried for a variable the loader insists on, in order (a name, a channel id, a number…). */
const PLAUSIBLE = ['pullwatch-probe', 'C0PROBE0001', '60', '5m', '[]', '{}', 'true', 'https://example.com/'];

type Outcome<C> = { ok: true; config: C; reads: string[] } | { ok: false; error: unknown; reads: string[] };

/** Runs the loader against `values`, recording every variable name it looks up. */
export const runRecording = <C>(loader: ConfigLoader<C>, values: Env): Outcome<C> => {
  const reads: string[] = [];
  const record = (name: string | symbol) => {
    if (typeof name === 'string' && ENV_NAME.test(name) && !reads.includes(name)) reads.push(name);
  };
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_target, name) => {
      record(name);
      return typeof name === 'string' ? values[name] : undefined;
    },
    has: (_target, name) => {
      record(name);
      return typeof name === 'string' && values[name] !== undefined;
    },
    ownKeys: () => Object.keys(values).filter((name) => values[name] !== undefined),
    getOwnPropertyDescriptor: (_target, name) => {
      record(name);
      const value = typeof name === 'string' ? values[name] : undefined;
      return value === undefined
        ? undefined
        : { value, enumerable: true, configurable: true, writable: false };
    },
  });
  try {
    return { ok: true, config: loader(env), reads };
  } catch (error) {
    return { ok: false, error, reads };
  }
};

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.getPrototypeOf(value) === Object.prototype;

/** Deep equality of config values; a missing key equals `undefined`. */
export const sameValue = (a: unknown, b: unknown): boolean => {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, index) => sameValue(item, b[index]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => sameValue(a[key], b[key]));
  }
  return false;
};

interface Leaf {
  path: string[];
  value: unknown;
}

/** The leaves of a config: plain objects are walked, anything else (numbers, strings, arrays) is a leaf. */
const leavesOf = (value: unknown, path: string[] = []): Leaf[] =>
  isPlainObject(value)
    ? Object.entries(value).flatMap(([key, child]) =>
        child === undefined ? [] : leavesOf(child, [...path, key]),
      )
    : [{ path, value }];

const at = (value: unknown, path: readonly string[]): unknown =>
  path.reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), value);

const isToken = (value: unknown): value is string => typeof value === 'string' && Token.isUnresolved(value);

/**
 * Spellings of a value, in order of preference. Numbers may be durations in milliseconds (`5m`,
 * `300s`, `300`), seconds, days or plain counts: the loader's answer decides which spelling is right.
 */
export const spellingsOf = (value: unknown): string[] => {
  if (typeof value === 'string') return [value];
  if (typeof value === 'boolean') return [String(value)];
  if (typeof value === 'number') {
    const spellings: string[] = [];
    if (Number.isFinite(value) && value >= 0) {
      spellings.push(durationText(value));
      for (const [unit, size] of [
        ['d', 86_400_000],
        ['h', 3_600_000],
        ['m', 60_000],
        ['s', 1000],
      ] as const) {
        if (value > 0 && value % size === 0) spellings.push(`${value / size}${unit}`);
      }
      if (value % 1000 === 0) spellings.push(String(value / 1000));
    }
    spellings.push(String(value), `${value}d`, `${value}s`, `${value}m`, `${value}ms`);
    return [...new Set(spellings)];
  }
  return [JSON.stringify(value)];
};

/** Values unlike `current`, used to see which variable moves a leaf. */
const probesFor = (wanted: unknown, current: unknown): unknown[] => {
  let candidates: unknown[];
  if (typeof wanted === 'number') {
    candidates = wanted === 0 ? [60_000, 2, 7] : [wanted, wanted * 2, wanted * 3, wanted + 1];
  } else if (typeof wanted === 'string') {
    candidates = isToken(wanted) ? PLAUSIBLE : [wanted, ...PLAUSIBLE];
  } else if (typeof wanted === 'boolean') {
    candidates = [wanted, !wanted];
  } else {
    candidates = [wanted];
  }
  return candidates.filter((candidate) => !sameValue(candidate, current));
};

interface Discovery<C> {
  baseline: Record<string, string>;
  config: C;
  reads: Set<string>;
}

/**
 * Runs the loader with nothing set; each time it throws naming a variable it read, gives that
 * variable the next plausible value. Ends with the loader's config and every variable it read.
 */
const discover = <C>(label: string, loader: ConfigLoader<C>): Discovery<C> => {
  const baseline: Record<string, string> = {};
  const tried = new Map<string, number>();
  const reads = new Set<string>();
  for (let round = 0; round < 200; round++) {
    const outcome = runRecording(loader, baseline);
    for (const name of outcome.reads) reads.add(name);
    if (outcome.ok) return { baseline, config: outcome.config, reads };
    const message = messageOf(outcome.error);
    // The variable the loader complains about: the last one read that the message names.
    const culprit = [...outcome.reads].reverse().find((name) => new RegExp(`\\b${name}\\b`).test(message));
    const attempt = culprit === undefined ? PLAUSIBLE.length : (tried.get(culprit) ?? 0);
    if (culprit === undefined || attempt >= PLAUSIBLE.length) {
      throw new EnvironmentDerivationError(
        `${label}: the config loader fails in a way the stack cannot satisfy: ${message}`,
      );
    }
    tried.set(culprit, attempt + 1);
    baseline[culprit] = PLAUSIBLE[attempt]!;
  }
  throw new EnvironmentDerivationError(`${label}: the config loader cannot be satisfied`);
};

export interface DeriveOptions<C> {
  /** Names the function in errors, e.g. `functions/notify/config.ts`. */
  label: string;
  loader: ConfigLoader<C>;
  /** The config the function must run with. */
  config: C;
}

export const deriveEnvironment = <C>({ label, loader, config }: DeriveOptions<C>): DerivedEnvironment => {
  // 1. Discover what the loader reads, and a baseline it accepts.
  const { baseline, config: base, reads } = discover(label, loader);
  const load = (extra: Env): C | undefined => {
    const result = runRecording(loader, { ...baseline, ...extra });
    for (const name of result.reads) reads.add(name);
    return result.ok ? result.config : undefined;
  };

  // 2. Map each leaf of the wanted config to the variable that sets it, and spell its value.
  const environment: Record<string, string> = {};
  const assigned = new Set<string>();
  const unplaced: Leaf[] = [];
  const placedLeaves: Leaf[] = [];
  const spell = (name: string, leaf: Leaf): string | undefined => {
    if (isToken(leaf.value)) return leaf.value;
    return spellingsOf(leaf.value).find((spelling) => {
      const loaded = load({ [name]: spelling });
      return loaded !== undefined && sameValue(at(loaded, leaf.path), leaf.value);
    });
  };
  for (const leaf of leavesOf(config)) {
    const current = at(base, leaf.path);
    let placed = false;
    // A variable that moves the leaf, even if not to the probe (the loader clamps or rounds it).
    let mover: string | undefined;
    search: for (const probe of probesFor(leaf.value, current)) {
      for (const name of [...reads]) {
        if (assigned.has(name)) continue;
        for (const spelling of spellingsOf(probe)) {
          const loaded = load({ [name]: spelling });
          if (loaded === undefined) continue;
          const got = at(loaded, leaf.path);
          if (!sameValue(got, current)) mover ??= name;
          if (!sameValue(got, probe)) continue;
          const value = spell(name, leaf);
          if (value === undefined) {
            throw new EnvironmentDerivationError(
              `${label}: ${name} sets ${leaf.path.join('.')}, but no spelling of ${JSON.stringify(leaf.value)} gives that value back`,
            );
          }
          environment[name] = value;
          assigned.add(name);
          placedLeaves.push(leaf);
          placed = true;
          break search;
        }
      }
    }
    if (!placed && mover !== undefined) {
      const value = spell(mover, leaf);
      if (value === undefined) {
        throw new EnvironmentDerivationError(
          `${label}: ${mover} sets ${leaf.path.join('.')}, but no spelling of ${JSON.stringify(leaf.value)} gives that value back`,
        );
      }
      environment[mover] = value;
      assigned.add(mover);
      placedLeaves.push(leaf);
      placed = true;
    }
    if (!placed) unplaced.push(leaf);
  }
  // Leaves whose wanted value is the loader's default, and that no probe could move: give them to a
  // remaining variable whose spelling of the value leaves the whole config unchanged. A leaf no
  // variable sets is one the function does not take from its environment (it keeps its default).
  const unsettable: string[] = [];
  for (const leaf of unplaced) {
    const without = load(environment);
    const name = [...reads].find((candidate) => {
      if (assigned.has(candidate)) return false;
      const value = spell(candidate, leaf);
      if (value === undefined) return false;
      const loaded = load({ ...environment, [candidate]: value });
      return loaded !== undefined && without !== undefined && sameValue(loaded, without);
    });
    if (name === undefined) {
      unsettable.push(leaf.path.join('.'));
      continue;
    }
    environment[name] = spell(name, leaf)!;
    assigned.add(name);
    placedLeaves.push(leaf);
  }

  // 3. The derived environment alone must give the wanted config.
  const check = runRecording(loader, environment);
  if (!check.ok) {
    throw new EnvironmentDerivationError(
      `${label}: the derived environment is refused by the config loader: ${messageOf(check.error)}`,
    );
  }
  for (const leaf of placedLeaves) {
    const actual = at(check.config, leaf.path);
    if (!sameValue(actual, leaf.value)) {
      throw new EnvironmentDerivationError(
        `${label}: the derived environment gives ${leaf.path.join('.')} = ${JSON.stringify(actual)}, not ${JSON.stringify(leaf.value)}`,
      );
    }
  }
  for (const name of check.reads) reads.add(name);
  const readList = [...reads];
  return {
    environment,
    reads: readList,
    unmapped: readList.filter((name) => !assigned.has(name)),
    unsettable,
  };
};

/** Stand-in values that get the loader through (e.g. to load a bundle outside Lambda). */
export const plausibleEnvironment = <C>(label: string, loader: ConfigLoader<C>): Record<string, string> => ({
  ...discover(label, loader).baseline,
});

/** The variables a loader reads (with whatever values make it get through). */
export const variablesRead = <C>(label: string, loader: ConfigLoader<C>): string[] => [
  ...discover(label, loader).reads,
];
