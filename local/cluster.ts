/**
 * Which cluster local mode watches: the current kubeconfig context, checked before anything starts
 * so that a missing or unreachable cluster is one clear line, not a stack trace or a silent wait.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeHttp } from '../forwarder/kube-http';
import type { Env } from '../functions/_common/env';

export const REPLAY_HINT =
  'or try it without a cluster: npm start -- --replay test/fixtures/recordings/tag-typo.jsonl';

/** No usable cluster; the message is the one line to show. */
export class NoCluster extends Error {
  override readonly name = 'NoCluster';
}

export interface KubeTarget {
  kubeConfig: KubeConfig;
  /** The context's name (the default cluster name of local mode). */
  context: string;
  server: string;
  /** The context's namespace, if it sets one. */
  namespace?: string;
}

const kubeconfigFiles = (env: Env): string[] => {
  const list = env.KUBECONFIG?.trim();
  if (list) return list.split(delimiter).filter((path) => path !== '');
  return [join(env.HOME ?? homedir(), '.kube', 'config')];
};

/**
 * Whether there is any kubeconfig to try: KUBECONFIG is set (even to a missing file: the user meant
 * it), the default file exists, or this runs in a pod. Without one, `npm start` plays the demo.
 */
export const kubeconfigPresent = (env: Env): boolean =>
  Boolean(env.KUBECONFIG?.trim()) ||
  env.KUBERNETES_SERVICE_HOST !== undefined ||
  kubeconfigFiles(env).some((file) => existsSync(file));

/** The current context of the kubeconfig (KUBECONFIG, else ~/.kube/config, else in-cluster). */
export const loadKubeTarget = (env: Env, hint: string = REPLAY_HINT): KubeTarget => {
  const or = hint === '' ? '' : `, ${hint}`;
  const kubeConfig = new KubeConfig();
  const files = kubeconfigFiles(env);
  const present = files.filter((file) => existsSync(file));
  if (present.length === 0 && env.KUBERNETES_SERVICE_HOST !== undefined) {
    kubeConfig.loadFromCluster();
  } else if (present.length === 0) {
    throw new NoCluster(
      env.KUBECONFIG?.trim()
        ? `no Kubernetes cluster: KUBECONFIG names ${files.join(', ')}, which does not exist; point it at a kubeconfig file${or}`
        : `no Kubernetes cluster: there is no ${files[0]} and KUBECONFIG is not set; point KUBECONFIG at a kubeconfig (or run kubectl config use-context <name>)${or}`,
    );
  } else {
    try {
      if (present.length === 1) kubeConfig.loadFromFile(present[0]!);
      else kubeConfig.loadFromDefault();
    } catch (error) {
      throw new NoCluster(
        `no Kubernetes cluster: ${present.join(', ')} could not be read (${error instanceof Error ? error.message : String(error)})${or}`,
      );
    }
  }
  const context = kubeConfig.getCurrentContext();
  const cluster = kubeConfig.getCurrentCluster();
  if (!context || cluster === null) {
    throw new NoCluster(
      `no Kubernetes cluster: the kubeconfig has no current context; choose one with kubectl config use-context <name>${or}`,
    );
  }
  const namespace = kubeConfig.getContextObject(context)?.namespace;
  return { kubeConfig, context, server: cluster.server, ...(namespace ? { namespace } : {}) };
};

const reasonOf = (error: unknown): string => {
  if (error instanceof KubeApiError)
    return `${error.statusCode} ${error.message.replace(/^GET \S+: \d+ /, '')}`;
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
};

/** Lists one pod (in a watched namespace, or anywhere): proves the cluster answers and lets us read. */
export const probeCluster = async (
  target: KubeTarget,
  namespaces: readonly string[],
  timeoutMs = 5000,
  hint: string = REPLAY_HINT,
): Promise<void> => {
  const or = hint === '' ? '' : `, ${hint}`;
  const kube = new KubeHttp(target.kubeConfig, timeoutMs);
  const path = namespaces[0] === undefined ? '/api/v1/pods' : `/api/v1/namespaces/${namespaces[0]}/pods`;
  try {
    await kube.get(path, { limit: 1 });
  } catch (error) {
    const where = `the cluster of kubeconfig context "${target.context}" (${target.server})`;
    if (error instanceof KubeApiError && (error.statusCode === 401 || error.statusCode === 403)) {
      throw new NoCluster(
        `${where} refused to list pods (${reasonOf(error)}): pullwatch needs get, list and watch on pods, events, replicasets and jobs; switch context with kubectl config use-context <name>${or}`,
      );
    }
    throw new NoCluster(
      `cannot reach ${where}: ${reasonOf(error)}; start it, or point KUBECONFIG / kubectl config use-context at a running one${or}`,
    );
  }
};
