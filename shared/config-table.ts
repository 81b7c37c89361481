/**
 * Configuration as a declarative table of environment variables: each has a name, a purpose, a
 * parse (text → value) and a format (value → text that parses back to it). A component's config is a
 * group of them; the same group reads the config from an environment (the functions, the forwarder,
 * local mode) and writes the environment that gives a config (the CDK stack), so the two cannot
 * drift and nothing has to probe a loader to learn what it reads.
 *
 * A missing or malformed variable fails at once with one line naming it and what it is for.
 *
 * Pure: takes an environment record, never reads `process`.
 */
import type { z } from 'zod';
import {
  DURATION_EXAMPLES,
  DurationError,
  MAX_SETTING_MS,
  durationText,
  parseDuration,
} from '#shared/duration';

export type Env = Readonly<Record<string, string | undefined>>;

/** A variable is missing or malformed; the message is one line that names it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** The variable at fault, when there is one. */
    readonly variable?: string,
  ) {
    super(message);
  }
}

/** Thrown by a parse: what is wrong, put after the variable's name (`must be …, got "x"`). */
export class InvalidValue extends Error {
  override readonly name = 'InvalidValue';
}

/** How a kind of value is written in the environment. */
export interface ValueKind<T> {
  /** The value of a (trimmed, non-empty) text; throws InvalidValue. */
  parse(text: string, purpose: string): T;
  /** Text that parses back to exactly `value`. */
  format(value: T): string;
}

/** A part of a config: what it reads from an environment, and the environment that gives it back. */
export interface Setting<T> {
  /** The variables it reads, in order. */
  readonly names: readonly string[];
  read(env: Env): T;
  /** The variables that make `read` return `value` (an undefined optional value sets none). */
  write(value: T): Record<string, string>;
}

/** The text of a variable, trimmed; undefined when unset or blank. */
export const readText = (env: Env, name: string): string | undefined => {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
};

interface VariableSpec<T> {
  name: string;
  purpose: string;
  kind: ValueKind<T>;
}

const parsed = <T>(spec: VariableSpec<T>, text: string): T => {
  try {
    return spec.kind.parse(text, spec.purpose);
  } catch (error) {
    if (error instanceof InvalidValue) throw new ConfigError(`${spec.name} ${error.message}`, spec.name);
    throw error;
  }
};

const single = <T>(spec: VariableSpec<T>, read: (text: string | undefined) => T): Setting<T> => ({
  names: [spec.name],
  read: (env) => read(readText(env, spec.name)),
  write: (value) => (value === undefined ? {} : { [spec.name]: spec.kind.format(value) }),
});

/** A variable that must be set: `PULLWATCH_TABLE is not set: name of the DynamoDB incident table`. */
export const required = <T>(spec: VariableSpec<T>): Setting<T> =>
  single(spec, (text) => {
    if (text === undefined) throw new ConfigError(`${spec.name} is not set: ${spec.purpose}`, spec.name);
    return parsed(spec, text);
  });

/** A variable with a default for when it is unset. */
export const withDefault = <T>(spec: VariableSpec<T>, fallback: T): Setting<T> =>
  single(spec, (text) => (text === undefined ? fallback : parsed(spec, text)));

/** A variable that may be unset (its value is then undefined). */
export const optional = <T>(spec: VariableSpec<T>): Setting<T | undefined> =>
  single<T | undefined>(spec as VariableSpec<T | undefined>, (text) =>
    text === undefined ? undefined : parsed(spec, text),
  );

type Table = Record<string, Setting<unknown>>;
export type ValuesOf<T extends Table> = { [K in keyof T]: T[K] extends Setting<infer V> ? V : never };
/** The config a setting reads, e.g. `type NotifyConfig = ConfigOf<typeof notifySettings>`. */
export type ConfigOf<S> = S extends Setting<infer V> ? V : never;

/**
 * Settings read together into one object, in the table's order. `complete` turns what was read into
 * the config's shape (e.g. fills the windows a function does not read with their defaults); the
 * environment written for a config holds the table's keys only.
 */
export function group<T extends Table>(table: T): Setting<ValuesOf<T>>;
export function group<T extends Table, R extends ValuesOf<T>>(
  table: T,
  complete: (values: ValuesOf<T>) => R,
): Setting<R>;
export function group<T extends Table>(
  table: T,
  complete: (values: ValuesOf<T>) => ValuesOf<T> = (values) => values,
): Setting<ValuesOf<T>> {
  const entries = Object.entries(table);
  return {
    names: entries.flatMap(([, setting]) => setting.names),
    read: (env) =>
      complete(Object.fromEntries(entries.map(([key, setting]) => [key, setting.read(env)])) as never),
    write: (value) =>
      Object.assign(
        {},
        ...entries.map(([key, setting]) => setting.write((value as Record<string, unknown>)[key])),
      ) as Record<string, string>,
  };
}

// ---------------------------------------------------------------------------------------------
// Kinds of values

export const TEXT: ValueKind<string> = { parse: (text) => text, format: (value) => value };

/** A whole number of at least `min`. */
export const integer = (min = 0): ValueKind<number> => ({
  parse: (text, purpose) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      throw new InvalidValue(`must be an integer of at least ${min} (${purpose}), got "${text}"`);
    }
    return value;
  },
  format: String,
});

/** Seconds in the environment (fractions allowed), milliseconds in the config. */
export const SECONDS_AS_MS: ValueKind<number> = {
  parse: (text, purpose) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) {
      throw new InvalidValue(`must be a non-negative number of seconds (${purpose}), got "${text}"`);
    }
    return value * 1000;
  },
  format: (ms) => String(ms / 1000),
};

/** A duration like `2m` or `1h30m` (shared/duration.ts), milliseconds in the config. */
export const DURATION_MS: ValueKind<number> = {
  parse: (text, purpose) => {
    try {
      return parseDuration(text, undefined, MAX_SETTING_MS);
    } catch (error) {
      if (error instanceof DurationError && error.tooLong) {
        throw new InvalidValue(error.message.replace(/^a duration /, ''));
      }
      throw new InvalidValue(`must be a duration like ${DURATION_EXAMPLES}, got "${text}" (${purpose})`);
    }
  },
  format: durationText,
};

/** Text a zod schema accepts; the purpose says what is expected (`is invalid: expected …`). */
export const matching = <T>(schema: z.ZodType<T>, format: (value: T) => string): ValueKind<T> => ({
  parse: (text, purpose) => {
    const result = schema.safeParse(text);
    if (!result.success) throw new InvalidValue(`is invalid: expected ${purpose}`);
    return result.data;
  },
  format,
});
