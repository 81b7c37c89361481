import type { ImageRefProblem, ImageReference } from '../image-ref';
import type { RegistryInfo } from '../registry';
import type { NodeRuntime } from './node-steps';

/** Everything a fix step may name. Unknown names render as <placeholders> the reader fills in. */
export interface FixContext {
  /** The image as written in the pod spec (or the message). */
  image: string;
  ref?: ImageReference;
  refProblem?: ImageRefProblem;
  /** For an invalid reference: the valid one it most likely meant, when the mistake is a known kind. */
  suggestedImage?: string;
  registry: RegistryInfo;
  namespace: string;
  pod: string;
  container: string;
  node: string;
  serviceAccount: string;
  /** `kind/name` for kubectl, e.g. deployment/web, or `<workload>` when the owner is unknown. */
  workload: string;
  /** The pod's owning workload (the controller at the top of its owner chain), when known. */
  owner?: { kind: string; name: string };
  pullSecrets: readonly string[];
  /** The secret the steps should create or repair. */
  secret: string;
  /** The kubelet's reason, e.g. ErrImagePull. */
  reason?: string;
  /** The runtime that wrote the message, which decides the node-side paths and unit. */
  runtime: NodeRuntime;
  /** The request that failed, as the message names it (a redirect target, a mirror, a non-443 port). */
  endpoint: { scheme: 'https' | 'http'; authority: string };
  /** The IAM role a denied ARN names ("…:assumed-role/<role>/…"). */
  awsRole?: string;
  /** The name a failed DNS lookup asked for ("lookup <name> on …"). */
  lookupName?: string;
  /** The lookup that failed was the proxy's own ("proxyconnect tcp: … lookup <proxy>"). */
  viaProxy?: boolean;
  /** The deciding excerpt, lowercased: which sub-case of the cause this is. */
  evidence: string;
  /** The same names for sentences: real ones, or plain words ("the image") where unknown. */
  say: {
    image: string;
    repository: string;
    /** "Docker Hub (docker.io)" */
    registry: string;
    /** "Docker Hub" */
    registryName: string;
    host: string;
    node: string;
    namespace: string;
  };
}

export interface FixStep {
  text: string;
  command?: string;
}

export interface Fix {
  steps: FixStep[];
  docs: string;
}

// [\w@%+=:,./-]: characters a POSIX shell gives no meaning to.
const SHELL_SAFE_CHAR = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-') {
  SHELL_SAFE_CHAR[c.charCodeAt(0)] = 1;
}
const isShellSafe = (value: string): boolean => {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128 || SHELL_SAFE_CHAR[c] === 0) return false;
  }
  return true;
};
/** `<name>`: a lowercase placeholder the reader fills in. */
const isPlaceholder = (value: string): boolean => {
  const last = value.length - 1;
  if (last < 1 || value.charCodeAt(0) !== 60 || value.charCodeAt(last) !== 62) return false;
  for (let i = 1; i < last; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || c === 45)) return false;
  }
  return last > 1;
};

/** Wraps a value for a POSIX shell unless it is plainly safe (or a <placeholder> to fill in). */
export const shellQuote = (value: string): string =>
  isShellSafe(value) || isPlaceholder(value) ? value : singleQuoted(value);

/** Always single-quoted, for values that are never shell-safe (JSON, scripts for `sh -c`). */
export const singleQuoted = (value: string): string =>
  `'${value.includes("'") ? value.replace(/'/g, `'\\''`) : value}'`;

/** Runs a shell command on the pod's node, where the runtime (not the pod) does the pull. */
export const onNode = (ctx: FixContext, command: string): string =>
  `kubectl debug node/${shellQuote(ctx.node)} -it --image=busybox:1.36 -- chroot /host sh -c ${singleQuoted(command)}`;

export const nsFlag = (ctx: FixContext): string => `-n ${shellQuote(ctx.namespace)}`;

export const repositoryOf = (ctx: FixContext): string =>
  ctx.ref ? ctx.ref.repository : ctx.image.split('@')[0]!.replace(/:[^/:]*$/, '');

export const pathOf = (ctx: FixContext): string => ctx.ref?.path ?? '<repository>';

export const tagOf = (ctx: FixContext): string =>
  ctx.ref?.tag ?? (ctx.ref?.digest ? ctx.ref.digest : 'latest');
