/**
 * What an incident's Slack messages showed, and when they arrived: each successful chat.postMessage
 * and chat.update of a top-level message read back into its figures (the status line's failing
 * containers, the affected pods), and each resolution reply with the time to recover it states.
 */
import type { FakeSlack, SlackCall } from '../../support/fake-slack';

export interface ShownIncident {
  /** Epoch ms the call reached Slack. */
  at: number;
  method: 'chat.postMessage' | 'chat.update';
  state: 'failing' | 'recovering' | 'resolved';
  /** "N containers cannot pull the image" (failing only). */
  failing?: number;
  affectedPods?: number;
}

export interface ShownResolution {
  at: number;
  affectedPods: number;
  /** "Resolved after …": from the first failed pull to the last recovery, in seconds as shown. */
  seconds: number;
}

export interface IncidentMessages {
  shown: ShownIncident[];
  resolutions: ShownResolution[];
}

/** Numbers as a message writes them ("2000" or "2,000"). */
const count = (text: string | undefined): number | undefined =>
  text === undefined ? undefined : Number(text.replace(/,/g, ''));

/** `1 min 4 s`, `21 s`, `2 min` as seconds. */
const seconds = (text: string): number =>
  [...text.matchAll(/(\d+) (min|s)\b/g)].reduce(
    (sum, [, value, unit]) => sum + Number(value) * (unit === 'min' ? 60 : 1),
    0,
  );

const read = (call: SlackCall, at: number, into: IncidentMessages): void => {
  if (call.method !== 'chat.postMessage' && call.method !== 'chat.update') return;
  const text = String(call.args.text ?? '');
  const resolved = /Resolved after ((?:\d+ (?:h|min|s) ?)+).*?: ([\d,]+) pods? affected/.exec(text);
  if (call.args.thread_ts !== undefined) {
    if (resolved !== undefined && resolved !== null)
      into.resolutions.push({ at, affectedPods: count(resolved[2])!, seconds: seconds(resolved[1]!) });
    return;
  }
  const blocks = JSON.stringify(call.args.blocks ?? []);
  const failing = /\*Failing\*[^:]*: ([\d,]+) containers? cannot pull/.exec(blocks)?.[1];
  const state = /\*Resolved\*/.test(blocks)
    ? 'resolved'
    : /\*Recovering\*/.test(blocks)
      ? 'recovering'
      : 'failing';
  const affectedPods = count(/\*Affected:\* ([\d,]+) pods?/.exec(blocks)?.[1]);
  into.shown.push({
    at,
    method: call.method,
    state,
    ...(failing === undefined ? {} : { failing: count(failing)! }),
    ...(affectedPods === undefined ? {} : { affectedPods }),
  });
};

/** Starts reading every call the fake Slack receives (successful ones) into figures. */
export const watchIncidentMessages = (slack: FakeSlack): IncidentMessages => {
  const messages: IncidentMessages = { shown: [], resolutions: [] };
  const calls = slack.calls;
  const record = calls.push.bind(calls);
  // A call is recorded before it is answered; its outcome is read once it has been.
  calls.push = (...items: SlackCall[]): number => {
    const at = Date.now();
    for (const call of items)
      setImmediate(() => call.status === 200 && call.error === undefined && read(call, at, messages));
    return record(...items);
  };
  return messages;
};
