/**
 * Fix steps that change a pod's spec. A controller re-creates its pods from its own template, so
 * every change targets the owning workload: a patch of a Pod is refused (imagePullPolicy and
 * imagePullSecrets are immutable there) or undone at the next re-creation. Where the owner is
 * unknown, the steps start with the one command that finds it.
 *
 * List fields are never replaced: `imagePullSecrets` has no strategic-merge key, so a merge patch
 * would drop the entries already there. Appends are JSON patches (`add …/-`), and a missing list is
 * created only after a check that it is missing.
 */
import { type FixContext, type FixStep, nsFlag, shellQuote as q, singleQuoted } from './fix-context';

// A Secret's name is a DNS subdomain (RFC 1123): at most 253 lowercase alphanumerics, '-' and '.'.
const OBJECT_NAME = /^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$/;
export const isObjectName = (name: string): boolean => OBJECT_NAME.test(name);

/** Where each workload kind keeps its pod spec. */
const POD_SPEC_AT: Readonly<Record<string, readonly string[]>> = {
  deployment: ['spec', 'template', 'spec'],
  statefulset: ['spec', 'template', 'spec'],
  daemonset: ['spec', 'template', 'spec'],
  replicaset: ['spec', 'template', 'spec'],
  replicationcontroller: ['spec', 'template', 'spec'],
  job: ['spec', 'template', 'spec'],
  cronjob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

// `kubectl rollout restart` knows these.
const RESTARTABLE = new Set(['deployment', 'statefulset', 'daemonset']);

type OwnerShape =
  /** A controller whose pod template can be patched. */
  | { kind: 'template'; specAt: readonly string[] }
  /** A Job: its pod template is immutable. */
  | { kind: 'job' }
  /** A Pod without a controller. */
  | { kind: 'pod' }
  /** Another controller (Argo Rollout, a KubeVirt VM…): where it keeps the template is its own. */
  | { kind: 'custom' }
  | { kind: 'unknown' };

const shapeOf = (ctx: FixContext): OwnerShape => {
  if (!ctx.owner) return { kind: 'unknown' };
  const kind = ctx.owner.kind.toLowerCase();
  if (kind === 'pod') return { kind: 'pod' };
  if (kind === 'job') return { kind: 'job' };
  const specAt = POD_SPEC_AT[kind];
  return specAt ? { kind: 'template', specAt } : { kind: 'custom' };
};

/** Image volumes (KEP-4639) are reported with the container field `volume:<name>`. */
const IMAGE_VOLUME_PREFIX = 'volume:';
export const imageVolumeOf = (ctx: FixContext): string | undefined =>
  ctx.container.startsWith(IMAGE_VOLUME_PREFIX) ? ctx.container.slice(IMAGE_VOLUME_PREFIX.length) : undefined;

const pointer = (segments: readonly string[]): string => `/${segments.join('/')}`;

/** `{"spec":{"template":{"spec": leaf}}}` for the segments, as JSON (written out: this runs per verdict). */
const nestedJson = (segments: readonly string[], leaf: unknown): string =>
  `${segments.map((key) => `{${JSON.stringify(key)}:`).join('')}${JSON.stringify(leaf)}${'}'.repeat(segments.length)}`;

const ownerLabel = (ctx: FixContext): string =>
  ctx.owner ? `${ctx.owner.kind} ${ctx.owner.name}` : 'the owning workload';

// The owner chain is pod → ReplicaSet → Deployment (or pod → Job → CronJob): one hop up from a
// ReplicaSet or Job, none from anything else; a pod without owners is its own workload.
const OWNER_PATH = `{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}`;

/** The one command that prints the pod's owning workload as kind/name. */
export const findOwner = (ctx: FixContext): FixStep => {
  const ns = nsFlag(ctx);
  return {
    text: `Find the workload that owns pod ${ctx.pod} (it prints e.g. Deployment/web); make the changes below there, because the controller re-creates its pods from its own template:`,
    command: `o=$(kubectl get pod ${q(ctx.pod)} ${ns} -o jsonpath='${OWNER_PATH}'); case "$o" in ReplicaSet/*|Job/*) p=$(kubectl get "$o" ${ns} -o jsonpath='${OWNER_PATH}'); [ "$p" = / ] || o=$p ;; /) o=Pod/${q(ctx.pod)} ;; esac; echo "$o"`,
  };
};

const findOwnerFirst = (ctx: FixContext): FixStep[] => (ctx.owner ? [] : [findOwner(ctx)]);

const recreateJob = (ctx: FixContext, what: string): FixStep => ({
  text: `A Job’s pod template cannot be changed. Fix ${what} in the Job’s manifest (or in the CronJob that creates it), then delete and re-create the Job:`,
  command: `kubectl delete ${ctx.workload} ${nsFlag(ctx)} && kubectl apply -f <fixed-job-manifest>`,
});

const recreatePod = (ctx: FixContext, what: string): FixStep => ({
  text: `The pod has no controller and ${what} of a running Pod cannot be changed: edit it in an export of the pod and re-create it (better, fix the manifest it came from):`,
  command: `kubectl get pod ${q(ctx.pod)} ${nsFlag(ctx)} -o yaml > pod.yaml && "\${EDITOR:-vi}" pod.yaml && kubectl replace --force -f pod.yaml`,
});

const editCustom = (ctx: FixContext, what: string): FixStep => ({
  text: `${ownerLabel(ctx)} keeps its pod template in its own place: change ${what} there (in its source manifest, if it is managed in Git):`,
  command: `kubectl edit ${ctx.workload} ${nsFlag(ctx)}`,
});

/** Where a fix names a tag it cannot know (shared/registry-check/suggested-fix.ts fills it in). */
export const EXISTING_TAG_PLACEHOLDER = '<existing-tag>';

/** Point the owning workload (or its image volume) at another image. */
export const setImageSteps = (ctx: FixContext, image: string): FixStep[] => {
  const shape = shapeOf(ctx);
  const volume = imageVolumeOf(ctx);
  if (shape.kind === 'job') return [recreateJob(ctx, 'the image')];
  if (shape.kind === 'custom') return [editCustom(ctx, 'the image')];
  if (volume !== undefined) {
    if (shape.kind === 'pod') return [recreatePod(ctx, 'an image volume')];
    // volumes merge by name, so a strategic-merge patch touches only this volume.
    const specAt = shape.kind === 'template' ? shape.specAt : POD_SPEC_AT.deployment!;
    return [
      ...findOwnerFirst(ctx),
      {
        text: `Point the image volume ${volume} at an image that exists${shape.kind === 'unknown' ? ' (for a CronJob the pod spec is under spec.jobTemplate.spec.template)' : ''}:`,
        command: `kubectl patch ${ctx.workload} ${nsFlag(ctx)} -p ${singleQuoted(nestedJson(specAt, { volumes: [{ name: volume, image: { reference: image } }] }))}`,
      },
    ];
  }
  return [
    ...findOwnerFirst(ctx),
    {
      text:
        shape.kind === 'pod'
          ? 'Point the pod at an image that exists (a Pod’s image may be changed in place; fix its manifest too):'
          : `Point ${ownerLabel(ctx)} at an image that exists (in its source manifest too, if it is managed in Git):`,
      command: `kubectl set image ${ctx.workload} ${q(ctx.container)}=${q(image)} ${nsFlag(ctx)}`,
    },
  ];
};

/**
 * A strategic-merge patch of the owning workload's pod spec (lists in `spec` merge by name, maps by
 * key), or the way to make the change where the template cannot be patched.
 */
const podSpecPatchSteps = (
  ctx: FixContext,
  what: string,
  text: (unknownOwnerNote: string) => string,
  spec: Record<string, unknown>,
): FixStep[] => {
  const shape = shapeOf(ctx);
  if (shape.kind === 'job') return [recreateJob(ctx, what)];
  if (shape.kind === 'pod') return [recreatePod(ctx, what)];
  if (shape.kind === 'custom') return [editCustom(ctx, what)];
  const specAt = shape.kind === 'template' ? shape.specAt : POD_SPEC_AT.deployment!;
  return [
    ...findOwnerFirst(ctx),
    {
      text: text(
        shape.kind === 'unknown'
          ? '; for a CronJob the pod spec is under spec.jobTemplate.spec.template'
          : '',
      ),
      command: `kubectl patch ${ctx.workload} ${nsFlag(ctx)} -p ${singleQuoted(nestedJson(specAt, spec))}`,
    },
  ];
};

/** Set the container's imagePullPolicy on the owning workload (containers merge by name). */
export const pullPolicySteps = (ctx: FixContext, policy: 'IfNotPresent' | 'Always'): FixStep[] =>
  podSpecPatchSteps(
    ctx,
    'imagePullPolicy',
    (note) =>
      `Set imagePullPolicy to ${policy} for container ${ctx.container} in ${ownerLabel(ctx)}’s pod template (for an init container, patch initContainers instead${note}):`,
    { containers: [{ name: ctx.container, imagePullPolicy: policy }] },
  );

/**
 * JSON patches (as JSON) that add one entry, given as JSON, to a list at `at`: appending to one that
 * exists, creating a missing one.
 */
const appendPatch = (at: string, entry: string): string =>
  `[{"op":"add","path":${JSON.stringify(`${at}/-`)},"value":${entry}}]`;
const createPatch = (at: string, entry: string): string =>
  `[{"op":"add","path":${JSON.stringify(at)},"value":[${entry}]}]`;

const restartStep = (ctx: FixContext): FixStep => {
  const kind = ctx.owner?.kind.toLowerCase();
  return kind !== undefined && RESTARTABLE.has(kind)
    ? {
        text: `A pod reads its service account’s pull secrets only when it is created: restart ${ownerLabel(ctx)} to re-create its pods:`,
        command: `kubectl rollout restart ${ctx.workload} ${nsFlag(ctx)}`,
      }
    : {
        text: 'A pod reads its service account’s pull secrets only when it is created: delete the failing pods so their controller re-creates them (a pod without a controller must be re-created from its manifest).',
      };
};

/** Reference a pull secret from the pod's service account, keeping the secrets it already lists. */
export const serviceAccountPullSecretSteps = (ctx: FixContext): FixStep[] => {
  const account = `serviceaccount ${q(ctx.serviceAccount)} ${nsFlag(ctx)}`;
  const entry = JSON.stringify({ name: ctx.secret });
  return [
    {
      text: `Check whether the pod’s service account ${ctx.serviceAccount} already lists pull secrets (it prints a JSON list, or nothing when there is none):`,
      command: `kubectl get ${account} -o jsonpath='{.imagePullSecrets}'`,
    },
    {
      text: `If it printed a list: append ${ctx.secret} to it (a JSON-patch add at the end keeps every entry already there):`,
      command: `kubectl patch ${account} --type=json -p ${singleQuoted(appendPatch('/imagePullSecrets', entry))}`,
    },
    {
      text: 'If it printed nothing: create the list with this one entry (only then: on an existing list this add would replace it):',
      command: `kubectl patch ${account} --type=json -p ${singleQuoted(createPatch('/imagePullSecrets', entry))}`,
    },
    restartStep(ctx),
  ];
};

/** The same reference in the owning workload's pod template: the change a GitOps repository carries. */
export const podTemplatePullSecretStep = (ctx: FixContext): FixStep => {
  const shape = shapeOf(ctx);
  const yaml = `imagePullSecrets: [{name: ${ctx.secret}}]`;
  if (shape.kind !== 'template' && shape.kind !== 'unknown') {
    return {
      text: `Or reference it in the pod spec itself (${yaml}): in ${ownerLabel(ctx)}’s manifest, since ${shape.kind === 'custom' ? 'its template lives in its own place' : 'this field cannot be changed on a running Job or Pod'}.`,
    };
  }
  const specAt = shape.kind === 'template' ? shape.specAt : POD_SPEC_AT.deployment!;
  const at = `${pointer(specAt)}/imagePullSecrets`;
  const jsonpath = `{.${specAt.join('.')}.imagePullSecrets}`;
  const target = `${ctx.workload} ${nsFlag(ctx)}`;
  const entry = JSON.stringify({ name: ctx.secret });
  return {
    text: `Or, if the workload is managed in Git, add ${yaml} to ${ownerLabel(ctx)}’s pod template (${specAt.join('.')}) in the repository instead; live, this appends to the list or creates it when there is none (pods created from the template from then on use it):`,
    command: `if [ -n "$(kubectl get ${target} -o jsonpath='${jsonpath}')" ]; then kubectl patch ${target} --type=json -p ${singleQuoted(appendPatch(at, entry))}; else kubectl patch ${target} --type=json -p ${singleQuoted(createPatch(at, entry))}; fi`,
  };
};

/** Schedule the workload onto nodes of a platform the image has (a map field: the patch adds one key). */
export const nodeSelectorSteps = (ctx: FixContext): FixStep[] =>
  podSpecPatchSteps(
    ctx,
    'the nodeSelector',
    (note) =>
      `Or run ${ownerLabel(ctx)} only on nodes of a platform the image has (fill in one the image lists: amd64, arm64…${note}):`,
    { nodeSelector: { 'kubernetes.io/arch': '<arch>' } },
  );
