/**
 * The shipped recordings: made of real texts (each template gives back the corpus line it names),
 * in sync with their builder, and readable by `--replay` (with clear errors when a file is not).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordingError, parseRecording, serializeRecording, shiftTimes } from '../../local/recording';
import { fleetTruth } from '../e2e/support/fleet-truth';
import { FLEET_NODES, RECORDINGS, TEXTS, fleetCreatedAt, imageFacts } from '../fixtures/recordings/scenarios';

const FIXTURES = join(__dirname, '..', 'fixtures');

const lines = (file: string): Array<Record<string, string>> =>
  readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, string>);

const corpus = (id: string) => lines('messages/corpus.jsonl').find((line) => line.id === id)!;
const captured = (scenario: string) =>
  lines('runtime/captured.jsonl').find(
    (line) => line.scenario === scenario && line.runtime?.startsWith('containerd') === true,
  )!;

describe('recording texts are real', () => {
  it('not found: corpus ghcr-sympozium-apiserver-tag-not-found', () => {
    const line = corpus('ghcr-sympozium-apiserver-tag-not-found');
    expect(TEXTS.notFound(imageFacts(line.image!))).toBe(line.message);
  });

  it('rate limited: corpus containerd-dockerhub-429-busybox-kata', () => {
    const line = corpus('containerd-dockerhub-429-busybox-kata');
    const digest = /sha256:([0-9a-f]{64})/.exec(line.message!)![1];
    expect(TEXTS.rateLimited(imageFacts(line.image!), digest)).toBe(line.message);
  });

  it('anonymous token refused: corpus containerd-acr-anonymous-token-401-aks-automatic', () => {
    const line = corpus('containerd-acr-anonymous-token-401-aks-automatic');
    const host = '<registryname>.azurecr.io';
    const image = line.image!;
    expect(
      TEXTS.anonymousToken401({ image, full: image, host, path: 'main/<imagerepo>', tag: 'v5.0.0' }),
    ).toBe(line.message);
  });

  it('registry unavailable: captured service-unavailable (containerd)', () => {
    const line = captured('service-unavailable');
    expect(TEXTS.unavailable(imageFacts(line.image!))).toBe(line.message);
  });

  it('pull-secret warning and back-off lines: kubelet texts from the corpus', () => {
    expect(TEXTS.secretWarning(['default-registry-secret'])).toBe(
      corpus('event-unable-to-retrieve-some-pull-secrets-zadig').message,
    );
    expect(TEXTS.backOff(imageFacts('docker.io/library/busybox:1.29'))).toBe(
      corpus('kubelet-bare-back-off-pulling-busybox').message,
    );
  });
});

describe('shipped recordings', () => {
  it.each(Object.keys(RECORDINGS))('%s is what its builder writes, and parses', (file) => {
    const text = readFileSync(join(FIXTURES, 'recordings', file), 'utf8');
    expect(text).toBe(serializeRecording(RECORDINGS[file]!()));
    const recording = parseRecording(text, file);
    expect(recording.changes.length).toBeGreaterThan(20);
    expect(recording.description).toMatch(/\w/);
  });
});

describe('the fleet recording', () => {
  it('daemonset-fleet-outage.jsonl: 2,000 pods fail, 1,333 still fail once a third recovered, then none', () => {
    const truth = fleetTruth(RECORDINGS['daemonset-fleet-outage.jsonl']!());
    const createdAt = (index: number) => fleetCreatedAt(index, FLEET_NODES);
    expect(truth).toMatchObject({ affectedPods: 2000, peakFailing: 2000, firstFailureAt: 2000 });
    // The first zone's pods pull on their second attempt (13 s after creation), the others on their third (34 s).
    // (pod 1998 is the first zone's last, pod 1 the first of the others, pod 1999 the last).
    expect(truth.plateau).toEqual({
      from: Math.round((createdAt(1998) + 13) * 1000),
      to: Math.round((createdAt(1) + 34) * 1000),
      failing: 1333,
    });
    expect(truth.lastRecoveryAt).toBe(Math.round((createdAt(1999) + 34) * 1000));
    expect(truth.failingAt(12_000)).toBe(2000);
    expect(truth.failingAt(truth.lastRecoveryAt)).toBe(0);
    // Pods affected so far: none before the first failure, all by the peak, and never fewer after.
    expect(truth.affectedAt(truth.firstFailureAt - 1)).toBe(0);
    expect(truth.affectedAt(truth.firstFailureAt)).toBeGreaterThan(0);
    expect(truth.affectedAt(truth.firstFailureAt)).toBeLessThan(2000);
    expect(truth.affectedAt(12_000)).toBe(2000);
    expect(truth.affectedAt(truth.lastRecoveryAt)).toBe(2000);
  });
});

describe('parseRecording', () => {
  const header = '{"recording": 1, "cluster": "c", "startedAt": "2026-03-01T10:00:00Z"}';
  const pod = (at: string, type = 'ADDED') =>
    `{"at": "${at}", "type": "${type}", "object": {"kind": "Pod", "metadata": {"name": "p"}}}`;

  it('reads the header and the changes, with durations or milliseconds', () => {
    const recording = parseRecording(
      [
        header,
        pod('1s'),
        `{"at": 1500, "type": "DELETED", "object": {"kind": "Pod", "metadata": {"name": "p"}}}`,
      ].join('\n'),
    );
    expect(recording.cluster).toBe('c');
    expect(recording.startedAt).toBe(Date.parse('2026-03-01T10:00:00Z'));
    expect(recording.changes.map((change) => [change.at, change.type])).toEqual([
      [1000, 'ADDED'],
      [1500, 'DELETED'],
    ]);
  });

  it.each(
    (
      [
        ['', /empty recording/],
        [pod('1s'), /f:1: the first line must be the header/],
        [`${header}\n{oops`, /f:2: not JSON/],
        [`${header}\n${pod('soon')}`, /f:2: "at": /],
        [`${header}\n${pod('1s', 'UPDATED')}`, /f:2: "type" must be ADDED, MODIFIED or DELETED/],
        [
          `${header}\n{"at": "1s", "type": "ADDED", "object": {"kind": "Secret", "metadata": {"name": "s"}}}`,
          /f:2: "object" must be a Pod \| Event/,
        ],
        [`${header}\n${pod('2s')}\n${pod('1s')}`, /f:3: "at" goes back in time/],
        ['{"recording": 1, "startedAt": "yesterday"}', /f:1: "startedAt" must be an ISO time/],
        [`${header}\n{"at": "1s", "type": "ADDED", "object": null}`, /f:2: "object" must be a Pod \| Event/],
        [
          `${header}\n{"at": "1s", "type": "ADDED", "object": {"kind": "Pod", "metadata": null}}`,
          /f:2: "object" must be a Pod/,
        ],
        [`${header}\n${pod('99999999d')}`, /^f:2: "at": a duration must be at most 30d, got "99999999d"$/],
        [
          `${header}\n{"at": 2592000001, "type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "p"}}}`,
          /^f:2: "at": a duration must be at most 30d, got 2592000001 ms$/,
        ],
        [
          `${header}\n{"at": "1s", "type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "p"}, "spec": ${'{"a":'.repeat(3000)}1${'}'.repeat(3000)}}}`,
          /^f:2: nested deeper than 100 levels$/,
        ],
        [
          `${header}\n{"at": "1s", "type": "ADDED", "object": {"kind": "Pod", "metadata": {"name": "${'p'.repeat(5 << 20)}"}}}`,
          /^f:2: longer than 4,194,304 characters$/,
        ],
      ] as Array<[string, RegExp]>
    )
      // Named by the error expected: some texts are megabytes long.
      .map(([text, message]) => [String(message), text, message] as const),
  )('refuses: %s', (_name, text, message) => {
    expect(() => parseRecording(text, 'f')).toThrow(RecordingError);
    expect(() => parseRecording(text, 'f')).toThrow(message);
  });

  it('moves the times inside objects, and nothing else', () => {
    const object = {
      metadata: { creationTimestamp: '2026-03-01T10:00:00Z', name: '2026-03-01T10:00:00Z' },
      lastTimestamp: '2026-03-01T10:00:05Z',
      message: 'at 2026-03-01T10:00:00Z',
    };
    expect(shiftTimes(object, (ms) => ms + 60_000)).toEqual({
      metadata: { creationTimestamp: '2026-03-01T10:01:00.000Z', name: '2026-03-01T10:00:00Z' },
      lastTimestamp: '2026-03-01T10:01:05.000Z',
      message: 'at 2026-03-01T10:00:00Z',
    });
  });
});
