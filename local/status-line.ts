/** The status line: what is watched, what fails, what is open; printed only when it changes. */
export interface StatusSources {
  census: () => Promise<{ pods: number; namespaces: number } | undefined>;
  failing: () => number | undefined;
  openIncidents: () => Promise<number | undefined>;
}

export interface StatusLine {
  /** Prints the status if it changed (one refresh at a time). */
  refresh(): Promise<void>;
  /** The status as last printed. */
  last(): string;
  /** Waits for a refresh in progress. */
  idle(): Promise<void>;
}

const clock = () => new Date().toISOString().slice(11, 19);
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A line stamped with the time of day, as the status lines are. */
export const stamped = (text: string): string => `[${clock()}] ${text}`;

export const statusLine = (sources: StatusSources, say: (line: string) => void): StatusLine => {
  let last = '';
  let running: Promise<void> | undefined;
  const print = async () => {
    const counted = await sources.census();
    const open = await sources.openIncidents().catch(() => undefined);
    const failing = sources.failing();
    const parts = [
      counted === undefined
        ? 'listing pods…'
        : `watching ${plural(counted.pods, 'pod')} in ${plural(counted.namespaces, 'namespace')}`,
      failing === undefined ? undefined : `${plural(failing, 'container')} failing to pull`,
      open === undefined ? undefined : `${plural(open, 'open incident')}`,
    ].filter((part) => part !== undefined);
    const status = parts.join(' · ');
    if (status !== last) {
      last = status;
      say(stamped(status));
    }
  };
  return {
    refresh: () => {
      running ??= print().finally(() => {
        running = undefined;
      });
      return running;
    },
    last: () => last,
    idle: async () => {
      await running?.catch(() => undefined);
    },
  };
};
