/**
 * The diagnosis engine: reads a kubelet/runtime message and names one cause, the evidence
 * that decided it, and the fix for this registry. Pure and linear in the message length.
 */
import { type ImageRefResult, parseImageRef } from '../image-ref';
import { type RegistryInfo, detectRegistry } from '../registry';
import { CATALOGUE, type CauseRule, type Signal, ruleFor } from './catalogue';
import type { CauseId } from './causes';
import { excerpt, leadingLine } from './evidence';
import type { Fix, FixContext } from './fix-context';
import {
  awsRoleInMessage,
  endpointInMessage,
  hostInMessage,
  imageInMessage,
  lookupInMessage,
  secretsInMessage,
} from './message-parts';
import { RUNTIME_WORDING, type RuntimeId, runtimeNamed } from './node-steps';
import { suggestedReference } from './reference-fix';
import { isObjectName } from './workload-steps';
import { PhraseMatcher, startOf } from './phrase-matcher';

export interface DiagnosisInput {
  /** The kubelet's waiting reason, e.g. ErrImagePull, ImagePullBackOff, InvalidImageName. */
  reason?: string;
  /** The message text exactly as the kubelet or runtime reported it. */
  message: string;
  /** The image reference from the pod spec, if known. */
  image?: string;
  namespace?: string;
  pod?: string;
  container?: string;
  node?: string;
  serviceAccount?: string;
  workload?: { kind: string; name: string };
  pullSecrets?: readonly string[];
  /** The kubelet's "Unable to retrieve some image pull secrets" warning, if the pod has one. */
  pullSecretWarning?: string;
}

export interface Verdict {
  cause: CauseId;
  /** The cause in plain words. */
  title: string;
  /** 0–1: how specific the deciding phrase is. */
  confidence: number;
  /** The exact excerpt of the message that decided the verdict. */
  evidence: string;
  image?: string;
  registry: RegistryInfo;
  summary: string;
  /** What the cause means, in one sentence. */
  explanation: string;
  fix: Fix;
}

interface CauseSignal extends Signal {
  cause: CauseId;
  /** Set on the runtimes' wrapping phrases, which name the runtime and decide no cause. */
  runtime?: RuntimeId;
}

const MATCHER = new PhraseMatcher<CauseSignal>([
  ...CATALOGUE.flatMap((rule) => rule.signals.map((signal) => ({ ...signal, cause: rule.id }))),
  ...RUNTIME_WORDING.map(({ text, runtime }) => ({ text, weight: 0, cause: 'unknown' as const, runtime })),
]);

// Reasons that are a cause by themselves; the weight says how far they beat phrases.
const REASON_SIGNALS: Record<string, { cause: CauseId; weight: number }> = {
  errimageneverpull: { cause: 'never-pull', weight: 100 },
  invalidimagename: { cause: 'invalid-image-name', weight: 96 },
  signaturevalidationfailed: { cause: 'policy-rejected', weight: 92 },
  registryunavailable: { cause: 'registry-unavailable', weight: 30 },
};

// Causes that a missing pull secret explains better than the registry's own refusal.
const EXPLAINED_BY_MISSING_SECRET = new Set<CauseId>([
  'registry-auth',
  'repo-not-found-or-unauthorized',
  'unknown',
]);

// How near (in characters) other phrases of the winning cause must be to join the evidence.
const EVIDENCE_REACH = 200;

interface Decision {
  cause: CauseId;
  weight: number;
  /** Other phrases nearby that point to the same cause. */
  corroboration: number;
  evidence: string;
  /** The runtime whose wrapping comes first in the message, if any. */
  runtime?: RuntimeId;
}

const decide = (input: DiagnosisInput, text: string, imageValid: boolean): Decision => {
  let best: { signal: CauseSignal; start: number; end: number } | undefined;
  let secretSignal = false;
  let wrapper: { end: number; runtime: RuntimeId } | undefined;
  MATCHER.forEachLast(text, (signal, end) => {
    if (signal.runtime !== undefined) {
      if (wrapper === undefined || end < wrapper.end) wrapper = { end, runtime: signal.runtime };
      return;
    }
    if (signal.cause === 'pull-secret-missing') secretSignal = true;
    if (
      !best ||
      signal.weight > best.signal.weight ||
      (signal.weight === best.signal.weight && end > best.end)
    ) {
      best = { signal, start: startOf(text, end, signal.text.length), end };
    }
  });

  let decision: Decision;
  if (best) {
    // Look again just before the deciding phrase for others of the same cause, to widen the evidence.
    const { signal: winner, start: winnerStart, end: winnerEnd } = best;
    let first = winnerStart;
    // The distinct other phrases of the winning cause nearby (a handful at most: no Set needed).
    const corroborating: string[] = [];
    MATCHER.scanAgain(
      text,
      (signal, start) => {
        if (signal.cause !== winner.cause || start < winnerStart - EVIDENCE_REACH) return;
        if (signal.text !== winner.text && !corroborating.includes(signal.text)) {
          corroborating.push(signal.text);
        }
        if (start < first && signal.weight >= winner.weight) first = start;
      },
      Math.max(0, winnerStart - EVIDENCE_REACH),
      winnerEnd,
    );
    decision = {
      cause: winner.cause,
      weight: winner.weight,
      corroboration: corroborating.length,
      evidence: excerpt(text, first, winnerEnd),
    };
  } else {
    decision = { cause: 'unknown', weight: 0, corroboration: 0, evidence: leadingLine(text) };
  }

  const byReason = input.reason ? REASON_SIGNALS[input.reason.toLowerCase()] : undefined;
  if (byReason && byReason.weight > decision.weight) {
    decision = { ...byReason, corroboration: 0, evidence: decision.evidence };
  }

  // An unparseable image in the pod spec is the cause whatever the runtime said around it.
  if (!imageValid && decision.weight < 60) {
    decision = {
      cause: 'invalid-image-name',
      weight: 60,
      corroboration: 0,
      evidence: decision.evidence,
    };
  }

  if ((secretSignal || input.pullSecretWarning) && EXPLAINED_BY_MISSING_SECRET.has(decision.cause)) {
    decision = {
      ...decision,
      cause: 'pull-secret-missing',
      weight: Math.max(decision.weight, 72),
      // The kubelet's warning is then the deciding text.
      evidence:
        secretSignal || !input.pullSecretWarning ? decision.evidence : leadingLine(input.pullSecretWarning),
    };
  }
  return { ...decision, runtime: wrapper?.runtime };
};

const UNKNOWN_REGISTRY: RegistryInfo = { host: '<registry>', kind: 'other', displayName: 'the registry' };

const registryFor = (parsed: ImageRefResult | undefined, text: string): RegistryInfo => {
  if (parsed?.ok) return detectRegistry(parsed.ref.registry, parsed.ref.path);
  const host = hostInMessage(text);
  return host ? detectRegistry(host) : UNKNOWN_REGISTRY;
};

// Causes whose steps test or configure the exact endpoint that failed (others name the registry).
const NAMES_ENDPOINT = new Set<CauseId>([
  'tls-error',
  'connection-refused',
  'network-timeout',
  'registry-unavailable',
  'dns-resolution',
]);

const placeholder = (value: string | undefined, name: string): string =>
  value !== undefined && value.length > 0 ? value : `<${name}>`;

// No valid reference is this long (name 255, tag 128, one digest); cut hostile ones before they reach every step.
const MAX_SHOWN_IMAGE = 600;
const shownImage = (image: string | undefined): string =>
  image !== undefined && image.length > MAX_SHOWN_IMAGE
    ? `${image.slice(0, MAX_SHOWN_IMAGE)}…`
    : placeholder(image, 'image');

const contextFor = (
  input: DiagnosisInput,
  text: string,
  decision: Decision,
  image: string | undefined,
  parsed: ImageRefResult | undefined,
): FixContext => {
  const { cause } = decision;
  const registry = registryFor(parsed, text);
  const warned = input.pullSecretWarning ? secretsInMessage(input.pullSecretWarning) : [];
  const pullSecrets = input.pullSecrets?.length
    ? input.pullSecrets
    : warned.length
      ? warned
      : secretsInMessage(text);
  const pod = placeholder(input.pod, 'pod');
  return {
    image: shownImage(image),
    ref: parsed?.ok ? parsed.ref : undefined,
    refProblem: parsed && !parsed.ok ? parsed.problem : undefined,
    suggestedImage:
      cause === 'invalid-image-name' && parsed && !parsed.ok && image !== undefined
        ? suggestedReference(image)
        : undefined,
    registry,
    namespace: placeholder(input.namespace, 'namespace'),
    pod,
    container: placeholder(input.container, 'container'),
    node: placeholder(input.node, 'node'),
    serviceAccount: placeholder(input.serviceAccount, 'service-account'),
    workload: input.workload ? `${input.workload.kind.toLowerCase()}/${input.workload.name}` : '<workload>',
    owner: input.workload ? { kind: input.workload.kind, name: input.workload.name } : undefined,
    pullSecrets,
    say: {
      image: image !== undefined && image.length > 0 ? shownImage(image) : 'the image',
      repository: parsed?.ok ? parsed.ref.repository : image ? shownImage(image) : 'the image',
      registry:
        registry === UNKNOWN_REGISTRY
          ? 'the registry'
          : registry.displayName === registry.host
            ? registry.host
            : `${registry.displayName} (${registry.host})`,
      registryName: registry === UNKNOWN_REGISTRY ? 'the registry' : registry.displayName,
      host: registry === UNKNOWN_REGISTRY ? 'the registry' : registry.host,
      node: input.node ? `node ${input.node}` : 'the node',
      namespace: input.namespace ? `namespace ${input.namespace}` : 'the pod’s namespace',
    },
    // The missing secret is named as the pod names it (even when the name is broken); steps that create a
    // secret of their own never take a name the API would refuse.
    secret:
      (cause === 'pull-secret-missing' ? pullSecrets[0] : pullSecrets.find(isObjectName)) ??
      (cause === 'pull-secret-missing'
        ? '<secret>'
        : `${registry.kind === 'other' ? 'registry' : registry.kind}-pull`),
    reason: input.reason,
    runtime: runtimeNamed(decision.runtime),
    endpoint: (NAMES_ENDPOINT.has(cause) ? endpointInMessage(text) : undefined) ?? {
      scheme: 'https',
      authority: registry === UNKNOWN_REGISTRY ? '<registry>' : registry.host,
    },
    lookupName: cause === 'dns-resolution' ? lookupInMessage(text) : undefined,
    viaProxy: cause === 'dns-resolution' && text.includes('proxyconnect'),
    awsRole: registry.kind === 'ecr' ? awsRoleInMessage(text) : undefined,
    evidence: decision.evidence.toLowerCase(),
  };
};

/** Specific phrases earn high confidence; generic ones ("not found", "timeout") less; agreement adds a little. */
// Capitalise a leading plain word ("the node …"), never an identifier ("ghcr.io …", "quay.io/org/app …").
const sentence = (text: string): string => {
  let i = 0;
  for (let c = text.charCodeAt(0); c >= 97 && c <= 122; c = text.charCodeAt(++i));
  const after = text.charCodeAt(i);
  return i > 0 && (after === 32 || after === 44) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
};

const confidenceOf = ({ weight, corroboration }: Decision): number => {
  if (weight === 0) return 0.3;
  const base = weight >= 80 ? 0.9 : weight >= 60 ? 0.8 : weight >= 45 ? 0.65 : 0.5;
  return Math.min(0.99, Math.round((base + 0.05 * Math.min(corroboration, 2)) * 100) / 100);
};

export const diagnose = (input: DiagnosisInput): Verdict => {
  const text = input.message ?? '';
  const image = input.image ?? imageInMessage(text);
  const parsed = image !== undefined ? parseImageRef(image) : undefined;
  // Only the pod spec's image can prove the reference invalid; one read from the text may be cut short.
  const decision = decide(input, text, input.image === undefined || parsed?.ok !== false);
  const rule: CauseRule = ruleFor(decision.cause);
  const ctx = contextFor(input, text, decision, image, parsed);
  return {
    cause: decision.cause,
    title: rule.title,
    confidence: confidenceOf(decision),
    evidence: decision.evidence,
    image: ctx.image === '<image>' ? undefined : ctx.image,
    registry: ctx.registry,
    summary: sentence(rule.summary(ctx)),
    explanation: rule.meaning,
    fix: { steps: rule.fix(ctx), docs: rule.docs(ctx) },
  };
};
