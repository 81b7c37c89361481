/**
 * Results per image and cause for a few minutes, so a storm of failures for one image asks its registry
 * once. Concurrent callers for the same key share the one check in flight. The oldest entry goes first
 * when the cache is full.
 */
export class CheckCache<T> {
  private readonly entries = new Map<string, { expiresAt: number; value: Promise<T>; settled?: T }>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 1000,
  ) {}

  /** The answer already in, without waiting: what a caller that must not wait can use at once. */
  peek(key: string): T | undefined {
    const cached = this.entries.get(key);
    return cached && cached.expiresAt > this.now() ? cached.settled : undefined;
  }

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const time = this.now();
    const cached = this.entries.get(key);
    if (cached && cached.expiresAt > time) return cached.value;
    this.entries.delete(key);
    const value = compute();
    const entry: { expiresAt: number; value: Promise<T>; settled?: T } = {
      expiresAt: time + this.ttlMs,
      value,
    };
    // A check that throws is not kept: the next caller asks again.
    value.then(
      (result) => void (entry.settled = result),
      () => this.entries.delete(key),
    );
    this.entries.set(key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
    return value;
  }
}
