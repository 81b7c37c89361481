/**
 * When local mode has settled (tests, `--once`-style runs): the source is done, the bus is idle,
 * no incident of this run waits to resolve, and everyone who should hear has heard (a first post
 * may be held for the storm hold, or waiting out a lease or a Retry-After).
 */
import { isMuted } from '#shared/routing';
import type { IncidentQueries } from '../functions/history/queries';
import { MAIN_POST } from '../functions/_common/post-ids';
import type { LocalBus } from './bus';

export interface SettledOptions {
  bus: LocalBus;
  queries: IncidentQueries;
  cluster: string;
  /** Incidents that failed since then belong to this run. */
  startedAt: number;
  /** How long to wait between looks. */
  pollMs: number;
  /** Resolves when the source has played out (replay), if it ends. */
  sourceDone?: Promise<void>;
}

export const waitUntilSettled = async (options: SettledOptions): Promise<void> => {
  const { bus, queries, cluster, startedAt } = options;
  await options.sourceDone;
  for (;;) {
    await bus.idle();
    // Incidents of this run: open ones, and those that failed since local mode started.
    const { incidents } = await queries.list({ cluster, limit: 1000 });
    const current = incidents.filter(
      (incident) => incident.status === 'open' || Date.parse(incident.lastSeen) >= startedAt,
    );
    const recovering = current.filter(
      (incident) => incident.status === 'open' && incident.failingContainers === 0,
    );
    const unannounced = [];
    for (const incident of current) {
      const record = await queries.get(incident.incidentId);
      const muted = isMuted(record?.incident.latest?.annotations);
      const main = record?.posts[MAIN_POST];
      // Posted or refused for good: told. Claimed or uncertain: still on its way.
      if (!muted && (main === undefined || main.state === 'claimed' || main.state === 'uncertain')) {
        unannounced.push(incident);
      }
    }
    if (recovering.length === 0 && unannounced.length === 0) {
      await bus.idle();
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
};
