/** What local mode's log (`<data>/pullwatch.log`, JSON lines) says about the benchmarks' runs. */

export interface TargetBatches {
  calls: number;
  records: number;
  /** Each batch's handling time. */
  ms: number[];
}

/** The bus's batches per target (classify, dedupe, notify, heartbeat…), from its "batch handled" lines. */
export const batchesOf = (log: string): Map<string, TargetBatches> => {
  const batches = new Map<string, TargetBatches>();
  for (const line of log.split('\n')) {
    if (!line.includes('"batch handled"')) continue;
    const { target, records, ms } = JSON.parse(line) as { target: string; records: number; ms: number };
    const entry = batches.get(target) ?? { calls: 0, records: 0, ms: [] };
    entry.calls++;
    entry.records += records;
    entry.ms.push(ms);
    batches.set(target, entry);
  }
  return batches;
};

/** Observations (the forwarder's failures and recoveries) dedupe handled: what the store's cost is per. */
export const observationsHandled = (log: string): number => batchesOf(log).get('dedupe')?.records ?? 0;
