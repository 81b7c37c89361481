// Runs one scenario against one runtime and words the result as the kubelet would report it.
import type { CauseId } from '#shared/diagnosis/causes';
import { status } from '@grpc/grpc-js';
import { DEFAULT_ROOT } from './containerd';
import {
  currentParserWording,
  failedToPullMessage,
  GO_CLIENT_DEADLINE_DETAILS,
  grpcErrorText,
  invalidImageNameMessage,
} from './kubelet';
import { REGISTRY_USER, SMALL_DISK_BYTES, type Lab } from './lab';
import type { KubeletReason, PullTarget, Runtime, Scenario } from './scenarios';

/** One line of test/fixtures/runtime/captured.jsonl. */
export interface Observation {
  scenario: string;
  runtime: string;
  image: string;
  reason: KubeletReason;
  message: string;
  expected: CauseId;
}

export interface Reproduction {
  observation: Observation;
  /** The runtime's own error text, which the scenario's evidence must match. */
  runtimeText: string;
}

/** The lab did not produce the failure the scenario is about (a harness problem, not a finding). */
export class NotReproduced extends Error {
  override readonly name = 'NotReproduced';
}

const DEFAULT_CONTAINERD_DEADLINE_MS = 30_000;
const DEFAULT_SKOPEO_TIMEOUT_SECONDS = 30;

const credentialsFor = (
  lab: Lab,
  scenario: PullTarget,
): { username: string; password: string } | undefined => {
  if (!scenario.credentials) return undefined;
  const password = scenario.credentials === 'valid' ? lab.addresses.registryPassword : 'not-the-password';
  return { username: REGISTRY_USER, password };
};

type Attempt = { ok: true; detail: string } | { ok: false; code: status; runtimeText: string };

/** One pull of `target` by `runtime`, with the runtime's answer as the kubelet would receive it. */
const attempt = async (lab: Lab, runtime: Runtime, target: PullTarget, image: string): Promise<Attempt> => {
  const credentials = credentialsFor(lab, target);
  if (runtime === 'containerd') {
    const containerd = target.containerd?.smallDisk ? lab.smallDiskContainerd : lab.containerd;
    const deadlineMs = target.containerd?.deadlineMs ?? DEFAULT_CONTAINERD_DEADLINE_MS;
    const outcome = await containerd.client.pull(image, credentials && { ...credentials }, deadlineMs);
    if (outcome.ok) return { ok: true, detail: outcome.imageRef };
    // Paths inside the lab's containerd read as a default install's (/var/lib/containerd/...).
    const runtimeText = outcome.clientDeadline
      ? GO_CLIENT_DEADLINE_DETAILS
      : outcome.details.split(containerd.root).join(DEFAULT_ROOT);
    return { ok: false, code: outcome.code, runtimeText };
  }
  const settings = target.skopeo;
  if (!settings) throw new Error(`${target.id} has no skopeo variant`);
  const outcome = await lab.skopeo.pull({
    image,
    tlsVerify: settings.tlsVerify,
    certDir: settings.trustLabCa ? lab.addresses.skopeoCertDir : undefined,
    credentials,
    timeoutSeconds: settings.timeoutSeconds ?? DEFAULT_SKOPEO_TIMEOUT_SECONDS,
    diskBytes: settings.smallDisk ? SMALL_DISK_BYTES : undefined,
  });
  // CRI-O returns the library's error as is, and grpc-go sends a plain error as code Unknown.
  return outcome.ok
    ? { ok: true, detail: 'pulled' }
    : { ok: false, code: status.UNKNOWN, runtimeText: outcome.error };
};

export const reproduce = async (lab: Lab, runtime: Runtime, scenario: Scenario): Promise<Reproduction> => {
  const image = scenario.image(lab.addresses);
  const outcome = await attempt(lab, runtime, scenario, image);
  if (outcome.ok) throw new NotReproduced(`${scenario.id}: ${runtime} pulled ${image} (${outcome.detail})`);
  const record = (reason: KubeletReason, message: string): Observation => ({
    scenario: scenario.id,
    runtime: runtime === 'containerd' ? lab.containerd.version : lab.skopeo.version,
    image,
    reason,
    message,
    expected: scenario[runtime]?.expected ?? scenario.expected,
  });

  if (scenario.stage?.kind === 'kubelet-parse') {
    const prefix = `failed to parse image reference "${image}": `;
    if (!outcome.runtimeText.startsWith(prefix)) {
      throw new NotReproduced(
        `${scenario.id}: ${runtime} accepted the name ${image}: ${outcome.runtimeText}`,
      );
    }
    const parserError = outcome.runtimeText.slice(prefix.length);
    const wording =
      scenario.stage.wording === 'current' ? currentParserWording(image, parserError) : parserError;
    return {
      observation: record('InvalidImageName', invalidImageNameMessage(image, wording)),
      runtimeText: parserError,
    };
  }
  return {
    observation: record(
      'ErrImagePull',
      failedToPullMessage(image, grpcErrorText(outcome.code, outcome.runtimeText)),
    ),
    runtimeText: outcome.runtimeText,
  };
};

/** A control pull: what the runtime answered, for the test to assert success on. */
export const pullControl = async (
  lab: Lab,
  runtime: Runtime,
  target: PullTarget,
): Promise<{ ok: boolean; detail: string }> => {
  const outcome = await attempt(lab, runtime, target, target.image(lab.addresses));
  return outcome.ok ? outcome : { ok: false, detail: outcome.runtimeText };
};
