/**
 * `pullwatch diagnose`: wiring for cli/diagnose.ts (kubeconfig, API client, output, exit codes).
 * Exit codes: 0 diagnosed (or nothing failing); 1 no cluster, no such pod, or the API refused.
 */
import { KubeApiError, KubeHttp } from '../forwarder/kube-http';
import { NoCluster, loadKubeTarget } from '../local/cluster';
import { PodNotFound, diagnoseNamespace, renderDiagnosis } from './diagnose';
import { renderVerdict } from './render-verdict';
import type { RegistryChecker } from '../functions/_common/registry-check/check';

export const diagnoseMain = async (
  pod: string | undefined,
  options: { namespace?: string; all?: boolean; json?: boolean; checker?: RegistryChecker | undefined },
  write: (line: string) => Promise<void>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> => {
  const fail = (message: string) => {
    process.stderr.write(`pullwatch: ${message}\n`);
    return 1;
  };
  let target;
  try {
    target = loadKubeTarget(env, '');
  } catch (error) {
    if (error instanceof NoCluster) return fail(error.message);
    throw error;
  }
  const namespace = options.namespace ?? target.namespace ?? 'default';
  const kube = new KubeHttp(target.kubeConfig, 15_000);
  let result;
  try {
    result = await diagnoseNamespace(kube, {
      namespace,
      ...(pod === undefined ? {} : { pod }),
      cluster: target.context,
    });
  } catch (error) {
    if (error instanceof PodNotFound) return fail(error.message);
    if (error instanceof KubeApiError) {
      return fail(
        `the cluster of context "${target.context}" answered ${error.statusCode} to ${error.path} (${error.message.replace(/^GET \S+: \d+ /, '')})`,
      );
    }
    const code = (error as NodeJS.ErrnoException).code;
    return fail(
      `cannot reach the cluster of context "${target.context}" (${target.server}): ${code ?? ''}${code ? ' ' : ''}${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const { checker } = options;
  if (checker) {
    const { withRegistryCheck } = require('./registry-check') as typeof import('./registry-check');
    await Promise.all(
      result.groups.map(async (group) => {
        group.verdict = await withRegistryCheck(group.verdict, group.image, checker);
      }),
    );
  }
  if (options.json) {
    await write(
      JSON.stringify(
        {
          namespace: result.namespace,
          podsChecked: result.podsChecked,
          failing: result.groups.map((group) => ({
            workload: group.workload,
            container: group.container,
            image: group.image,
            pods: group.pods,
            reason: group.failures[0]?.detail.reason,
            message: group.failures[0]?.detail.message,
            pullSecretWarning: group.failures[0]?.detail.pullSecretWarning,
            failedPulls: group.failures.reduce((sum, failure) => sum + failure.detail.count, 0),
            verdict: group.verdict,
          })),
          ...(pod === undefined ? {} : { healthy: result.healthy }),
        },
        null,
        2,
      ),
    );
    return 0;
  }
  await write(renderDiagnosis(result, renderVerdict, { single: pod !== undefined }));
  return 0;
};
