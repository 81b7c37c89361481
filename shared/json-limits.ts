/**
 * Limits on JSON that comes from outside (a `classify --jsonl` line, a recording line). `JSON.parse`
 * copes with any nesting, but everything that walks the result recursively (`JSON.stringify`,
 * structural copies) overflows the stack a few thousand levels down: a value nested deeper than a
 * limit is refused before anything walks it, and a line longer than a limit before it is parsed.
 *
 * Pure: no AWS, Kubernetes or Slack imports.
 */

/**
 * The longest line of JSON read from outside: 4 Mi characters, far above a Kubernetes object (etcd
 * keeps at most 1.5 MiB) or a kubelet message, and small enough to hold in memory.
 */
export const MAX_JSON_LINE_CHARS = 4 << 20;

/** Deeper than any Kubernetes object (managed fields included), far short of a stack overflow. */
export const MAX_JSON_DEPTH = 100;

/**
 * Whether `value` nests deeper than `limit` (a scalar is depth 0, `[]` and `{}` are 1). Walks with
 * its own stack, not recursion, and stops at the first level past the limit.
 */
export const nestedDeeperThan = (value: unknown, limit: number): boolean => {
  if (value === null || typeof value !== 'object') return false;
  const pending: Array<[node: object, depth: number]> = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (depth > limit) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') pending.push([child as object, depth + 1]);
    }
  }
  return false;
};

/** The one-line reason a line is refused for its length, e.g. "longer than 4,194,304 characters". */
export const tooLong = (limit: number): string => `longer than ${limit.toLocaleString('en')} characters`;
