// Every (runtime, scenario) pair, started together with bounded concurrency: the slow ones (deadlines,
// handshake timeouts, 429 back-off) overlap instead of adding up. Each result is awaited on its own.
import type { Lab } from './lab';
import { pullControl, reproduce, type Reproduction } from './observe';
import { CONTROLS, SCENARIOS, type PullTarget, type Runtime, type Scenario } from './scenarios';

export const RUNTIMES: Runtime[] = ['containerd', 'skopeo'];

export function scenariosFor(runtime: Runtime): Scenario[];
export function scenariosFor<T extends PullTarget>(runtime: Runtime, targets: readonly T[]): T[];
export function scenariosFor(runtime: Runtime, targets: readonly PullTarget[] = SCENARIOS): PullTarget[] {
  return targets.filter((target) => target[runtime] !== undefined);
}

const caseKey = (runtime: Runtime, scenario: PullTarget): string => `${runtime}/${scenario.id}`;

/** Scenarios that wait on a deadline or a back-off; started first so they overlap. */
const isSlow = (scenario: Scenario): boolean =>
  scenario.containerd?.deadlineMs !== undefined || scenario.skopeo?.timeoutSeconds !== undefined;

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

const settle = <T>(work: () => Promise<T>): Promise<Settled<T>> =>
  work().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

const unwrap = async <T>(settled: Promise<Settled<T>>): Promise<T> => {
  const result = await settled;
  if (result.ok) return result.value;
  throw result.error;
};

export class CaseRunner {
  private readonly reproductions = new Map<string, Promise<Settled<Reproduction>>>();
  private readonly controls = new Map<string, Promise<Settled<{ ok: boolean; detail: string }>>>();

  constructor(lab: Lab, concurrency = 8) {
    const queue: (() => Promise<void>)[] = [];
    const enqueue = <T>(work: () => Promise<T>): Promise<Settled<T>> =>
      new Promise((resolve) => queue.push(() => settle(work).then(resolve)));

    for (const runtime of RUNTIMES) {
      for (const scenario of scenariosFor(runtime, CONTROLS)) {
        this.controls.set(
          caseKey(runtime, scenario),
          enqueue(() => pullControl(lab, runtime, scenario)),
        );
      }
    }
    const ordered = RUNTIMES.flatMap((runtime) =>
      scenariosFor(runtime).map((scenario) => ({ runtime, scenario })),
    );
    ordered.sort((a, b) => Number(isSlow(b.scenario)) - Number(isSlow(a.scenario)));
    for (const { runtime, scenario } of ordered) {
      this.reproductions.set(
        caseKey(runtime, scenario),
        enqueue(() => reproduce(lab, runtime, scenario)),
      );
    }

    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) await next();
    };
    for (let index = 0; index < concurrency; index++) void worker();
  }

  reproduction(runtime: Runtime, scenario: Scenario): Promise<Reproduction> {
    const settled = this.reproductions.get(caseKey(runtime, scenario));
    if (!settled) throw new Error(`no case ${caseKey(runtime, scenario)}`);
    return unwrap(settled);
  }

  control(runtime: Runtime, scenario: PullTarget): Promise<{ ok: boolean; detail: string }> {
    const settled = this.controls.get(caseKey(runtime, scenario));
    if (!settled) throw new Error(`no control ${caseKey(runtime, scenario)}`);
    return unwrap(settled);
  }

  /** Resolves when every case has finished, whatever its outcome. */
  async settled(): Promise<void> {
    await Promise.all([...this.reproductions.values(), ...this.controls.values()]);
  }
}
