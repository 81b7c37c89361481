/** Waits `ms` milliseconds. The one timer-based pause; code that tests drive takes it as a dependency. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
