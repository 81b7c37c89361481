/**
 * Where a replay's recording time 0 fell on this machine's clock, read from local mode's structured
 * log (`replay started`). Reading it there, not from the moment the banner reaches the test, keeps a
 * loaded machine's delay out of the comparison of what Slack showed with the recording.
 */
export const replayStartedAt = (logText: string): number => {
  const started = logText
    .split('\n')
    .filter((line) => line.includes('"replay started"'))
    .map((line) => (JSON.parse(line) as { startedAt?: string }).startedAt);
  const at = started.length === 1 ? Date.parse(started[0] ?? '') : NaN;
  if (Number.isNaN(at)) throw new Error(`expected one "replay started" line, found ${started.length}`);
  return at;
};
