/**
 * A small EventBridge pattern evaluator for the pattern syntax pullwatch's rules may use: exact
 * values (a list of strings, numbers, booleans or null), nested objects, and the `prefix`,
 * `anything-but` and `exists` operators. Any other operator throws, so a rule that starts using
 * one fails the tests loudly instead of being evaluated wrong.
 *
 * Semantics as EventBridge documents them: every field of the pattern must match; a list matches
 * when any of its entries does; against an array in the event, a list matches when any element does.
 */

type Scalar = string | number | boolean | null;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const matchesCondition = (condition: unknown, value: unknown, present: boolean): boolean => {
  if (!isObject(condition)) {
    // An exact value.
    return present && value === (condition as Scalar);
  }
  const entries = Object.entries(condition);
  if (entries.length !== 1) throw new Error(`unsupported pattern condition ${JSON.stringify(condition)}`);
  const [operator, argument] = entries[0]!;
  switch (operator) {
    case 'prefix':
      return (
        present && typeof value === 'string' && typeof argument === 'string' && value.startsWith(argument)
      );
    case 'anything-but': {
      if (!present) return false;
      const excluded = Array.isArray(argument) ? argument : [argument];
      return !excluded.some((item) => item === value);
    }
    case 'exists':
      return argument === true ? present : !present;
    default:
      throw new Error(`unsupported pattern operator "${operator}"`);
  }
};

const matchesList = (list: unknown[], value: unknown, present: boolean): boolean => {
  const candidates = Array.isArray(value) ? value : [value];
  return list.some((condition) =>
    isObject(condition) && 'exists' in condition
      ? matchesCondition(condition, value, present)
      : candidates.some((candidate) => matchesCondition(condition, candidate, present)),
  );
};

/** Whether `event` matches the EventBridge `pattern` (both as JSON). */
export const matchesEventPattern = (pattern: unknown, event: unknown): boolean => {
  if (!isObject(pattern)) throw new Error(`a pattern must be an object, got ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([field, expected]) => {
    const present = isObject(event) && field in event;
    const value = present ? (event as Record<string, unknown>)[field] : undefined;
    if (Array.isArray(expected)) return matchesList(expected, value, present);
    if (isObject(expected)) return present && isObject(value) && matchesEventPattern(expected, value);
    throw new Error(`pattern field "${field}" must be a list or an object, got ${JSON.stringify(expected)}`);
  });
};
