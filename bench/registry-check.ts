/**
 * How long the registry check takes per cause against the local Distribution registries of the test lab:
 * in process over plain HTTP (a warm process, as in a warm Lambda), and through `pullwatch explain
 * --check` over TLS (a fresh process per run, as on a laptop; the figure is the check's own durationMs),
 * and as the pipeline asks it (classify's PipelineRegistryCheck, under the Lambda policy).
 */
import { join } from 'node:path';
import type { CauseId } from '#shared/diagnosis/causes';
import { registryCheckConfigSchema } from '#shared/registry-check/check-config';
import { checkRegistry } from '../functions/_common/registry-check/check';
import { PipelineRegistryCheck } from '../functions/_common/registry-check/pipeline-checker';
import { run } from '../test/e2e/support/process';
import { basicAuth, writeJson } from '../test/functions/_common/registry-check/support/credential-files';
import {
  CONTENT,
  USER,
  startRegistryLab,
} from '../test/functions/_common/registry-check/support/registry-lab';

const IN_PROCESS_RUNS = 20;
const CLI_RUNS = 5;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

const MESSAGES: Record<string, (image: string) => string> = {
  'image-not-found': (image) => `Failed to pull image "${image}": ${image}: not found`,
  'repo-not-found-or-unauthorized': (image) =>
    `Failed to pull image "${image}": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`,
  'registry-auth': (image) =>
    `Failed to pull image "${image}": failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized`,
  'platform-mismatch': (image) =>
    `Failed to pull image "${image}": no match for platform in manifest: not found`,
  'dns-resolution': (image) =>
    `Failed to pull image "${image}": dial tcp: lookup registry on 10.0.0.2:53: no such host`,
};

const main = async (): Promise<void> => {
  const lab = await startRegistryLab();
  try {
    const authFile = join(lab.folder, 'bench-auth.json');
    await writeJson(authFile, {
      auths: {
        [lab.basic.host]: { auth: basicAuth(USER, lab.password) },
        [lab.token.host]: { auth: basicAuth(USER, lab.password) },
      },
    });
    const missing = `${CONTENT.app.repository}:1.0.2`;
    const present = `${CONTENT.app.repository}:1.0.0`;
    const multi = `${CONTENT.multi.repository}:${CONTENT.multi.tag}`;
    const plainCases: Array<[CauseId, string]> = [
      ['image-not-found', `${lab.plain.host}/${missing}`],
      ['platform-mismatch', `${lab.plain.host}/${multi}`],
      ['dns-resolution', `${lab.plain.host}/${present}`],
    ];
    /** Runs each case IN_PROCESS_RUNS times; `ask` gives the outcome and the time in ms. */
    const inProcess = async (
      title: string,
      ask: (cause: CauseId, image: string) => Promise<{ outcome: string; ms: number }>,
    ) => {
      console.log(`${title}, plain HTTP, ${IN_PROCESS_RUNS} runs each (ms):`);
      for (const [cause, image] of plainCases) {
        const times: number[] = [];
        let outcome = '';
        for (let i = 0; i < IN_PROCESS_RUNS; i++) {
          const answer = await ask(cause, image);
          times.push(answer.ms);
          outcome = answer.outcome;
        }
        console.log(
          `  ${cause.padEnd(32)} ${outcome.padEnd(13)} p50 ${percentile(times, 50)}  p95 ${percentile(times, 95)}`,
        );
      }
    };
    await inProcess('in process', async (cause, image) => {
      const result = await checkRegistry(
        { cause, image },
        {
          policy: { plainHttp: [lab.plain.host], trusted: ['127.0.0.1'], denyPrivate: false },
          checkedFrom: 'bench',
          credentials: async () => undefined,
        },
      );
      return { outcome: result.outcome, ms: result.durationMs };
    });
    // The pipeline's check (classify in AWS, local mode): the Lambda policy, the hosts listed in the
    // config, no cache, timed around the call (what the follow-up event waits for).
    const pipelineCheck = new PipelineRegistryCheck(
      registryCheckConfigSchema.parse({
        enabled: true,
        privateRegistries: [lab.plain.host],
        plainHttpRegistries: [lab.plain.host],
        cacheMinutes: 0,
      }),
      { checkedFrom: 'bench', denyPrivate: true, credentials: async () => undefined },
    );
    await inProcess("pipeline check (classify's PipelineRegistryCheck)", async (cause, image) => {
      const started = performance.now();
      const answer = await pipelineCheck.ask({ cause, image });
      return { outcome: answer?.outcome ?? 'out of scope', ms: Math.round(performance.now() - started) };
    });
    console.log(`explain --check, TLS, fresh process, ${CLI_RUNS} runs each (the check's durationMs):`);
    for (const [cause, image] of [
      ['image-not-found', `${lab.open.host}/${missing}`],
      ['repo-not-found-or-unauthorized', `${lab.token.host}/${present}`],
      ['registry-auth', `${lab.basic.host}/${present}`],
      ['platform-mismatch', `${lab.open.host}/${multi}`],
      ['dns-resolution', `${lab.open.host}/${present}`],
    ] as Array<[string, string]>) {
      const times: number[] = [];
      let outcome = '';
      for (let i = 0; i < CLI_RUNS; i++) {
        const message = MESSAGES[cause]!(image);
        const { stdout } = await run(
          ['explain', '--check', '--check-trust', '127.0.0.1', '--json', '--image', image, message],
          lab.env({ REGISTRY_AUTH_FILE: authFile }),
        );
        const verdict = JSON.parse(stdout) as {
          cause: string;
          registryCheck: { durationMs: number; outcome: string };
        };
        if (verdict.cause !== cause) throw new Error(`expected ${cause}, the message gave ${verdict.cause}`);
        times.push(verdict.registryCheck.durationMs);
        outcome = verdict.registryCheck.outcome;
      }
      console.log(
        `  ${cause.padEnd(32)} ${outcome.padEnd(13)} p50 ${percentile(times, 50)}  max ${Math.max(...times)}`,
      );
    }
  } finally {
    await lab.stop();
  }
};

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
