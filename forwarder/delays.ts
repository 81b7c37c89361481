/** How the forwarder waits: one back-off for every retry (PutEvents, watch restarts) and one sleep. */

/** Full-jitter exponential back-off: a random delay in [0, min(max, base · 2^attempt)). */
export const backoffDelay = (attempt: number, baseMs: number, maxMs: number, random = Math.random): number =>
  Math.floor(random() * Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt)));

/** Resolves after `ms`; an `unref` sleep does not keep the process alive (shutdown deadlines). */
export const sleep = (ms: number, options: { unref?: boolean } = {}): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    if (options.unref === true) timer.unref();
  });
