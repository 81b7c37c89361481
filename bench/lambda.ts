/**
 * `npm run bench:lambda`: each Lambda function bundled as the CDK app bundles it (the local esbuild,
 * the same options: infra/constructs/pipeline-function.ts `BUNDLING`), then its size and its
 * module-init time: the time to `require()` the bundle in a fresh Node process, with the environment
 * the example stack gives the function (unresolved CDK tokens, such as the table's name, replaced by
 * stand-ins). `@aws-sdk/*` stays external, as in Lambda, where the runtime provides it; here it
 * loads from node_modules, which is counted.
 *
 * Targets: under 1 MB and under 150 ms per function. Exits 1 when one is missed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { Token } from 'aws-cdk-lib';
import { createApp } from '../infra/app';
import { BUNDLING, REPO_ROOT } from '../infra/constructs/pipeline-function';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MAX_BYTES = 1024 * 1024;
const MAX_INIT_MS = 150;

/** Each deployed function (functions/<name>/) once, with the environment the example stack gives it. */
const functionsToBench = (): Array<{ name: string; env: Record<string, string> }> => {
  const { stack } = createApp({
    appProps: { context: { 'aws:cdk:bundling-stacks': [] } },
    config: 'example',
  });
  const byName = new Map<string, Record<string, string>>();
  for (const fn of stack.functions) {
    const name = fn.entryPoint.split('/')[1]!;
    if (byName.has(name)) continue;
    byName.set(
      name,
      Object.fromEntries(
        Object.entries(fn.environment).map(([variable, value]) => [
          variable,
          Token.isUnresolved(value) ? `pullwatch-bench-${variable.toLowerCase()}` : value,
        ]),
      ),
    );
  }
  return [...byName].map(([name, env]) => ({ name, env }));
};

/** One cold load: milliseconds spent in require(), measured inside the fresh process. */
const coldInit = (bundle: string, env: Record<string, string>): number => {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(bundle)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const run = spawnSync(process.execPath, ['-e', script], {
    env: {
      PATH: process.env.PATH,
      NODE_PATH: join(REPO_ROOT, 'node_modules'),
      AWS_REGION: 'eu-west-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_METRICS_NAMESPACE: 'pullwatch',
      ...env,
    },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`loading ${bundle} failed:\n${run.stderr}`);
  return Number(run.stdout);
};

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

const main = (): void => {
  const dir = mkdtempSync(join(tmpdir(), 'pullwatch-bench-lambda-'));
  let missed = false;
  try {
    console.log(
      `Lambda bundles (esbuild ${BUNDLING.format}, ${BUNDLING.target}, minified, ${BUNDLING.externalModules.join(' ')} external); Node ${process.version}; init = require() in a fresh process, ${RUNS} runs\n`,
    );
    console.log(
      `${'function'.padEnd(10)} ${'bundle'.padStart(10)} ${'init median'.padStart(12)} ${'init max'.padStart(9)}  targets`,
    );
    for (const { name, env } of functionsToBench()) {
      const outfile = join(dir, name, 'index.js');
      buildSync({
        entryPoints: [join(REPO_ROOT, 'functions', name, 'handler.ts')],
        bundle: true,
        platform: 'node',
        target: BUNDLING.target,
        format: BUNDLING.format,
        minify: BUNDLING.minify,
        sourcemap: BUNDLING.sourceMap,
        external: [...BUNDLING.externalModules],
        tsconfig: join(REPO_ROOT, 'tsconfig.json'),
        outfile,
        logLevel: 'error',
      });
      const bytes = statSync(outfile).size;
      const times = Array.from({ length: RUNS }, () => coldInit(outfile, env));
      const initMs = median(times);
      const ok = bytes < MAX_BYTES && initMs < MAX_INIT_MS;
      missed ||= !ok;
      console.log(
        `${name.padEnd(10)} ${`${(bytes / 1024).toFixed(1)} KiB`.padStart(10)} ${`${initMs.toFixed(1)} ms`.padStart(12)} ${`${Math.max(...times).toFixed(1)} ms`.padStart(9)}  ${ok ? 'ok' : 'MISSED'} (< 1 MB, < ${MAX_INIT_MS} ms)`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (missed) process.exitCode = 1;
};

main();
