// Captures the real runtimes' wording of every scenario into test/fixtures/runtime/captured.jsonl.
// Run as root: npx tsx test/runtime/support/capture.ts
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { CaseRunner, RUNTIMES, scenariosFor } from './cases';
import { startLab } from './lab';
import { CONTROLS } from './scenarios';

const CAPTURE_PATH = join(__dirname, '..', '..', 'fixtures', 'runtime', 'captured.jsonl');

const main = async (): Promise<void> => {
  const started = Date.now();
  const lab = await startLab();
  const problems: string[] = [];
  const lines: string[] = [];
  try {
    const runner = new CaseRunner(lab);
    for (const runtime of RUNTIMES) {
      for (const control of scenariosFor(runtime, CONTROLS)) {
        const outcome = await runner.control(runtime, control);
        if (!outcome.ok) problems.push(`control ${runtime}/${control.id} failed: ${outcome.detail}`);
      }
    }
    for (const runtime of RUNTIMES) {
      for (const scenario of scenariosFor(runtime)) {
        try {
          const { observation, runtimeText } = await runner.reproduction(runtime, scenario);
          const evidence = scenario[runtime]?.evidence;
          if (evidence && !evidence.test(runtimeText)) {
            problems.push(`${runtime}/${scenario.id}: "${runtimeText}" lacks the evidence ${evidence}`);
          }
          lines.push(JSON.stringify(observation));
        } catch (error) {
          problems.push(`${runtime}/${scenario.id}: ${(error as Error).message}`);
        }
      }
    }
  } finally {
    await lab.stop();
  }
  await mkdir(dirname(CAPTURE_PATH), { recursive: true });
  await writeFile(CAPTURE_PATH, lines.join('\n') + '\n');
  console.log(
    `wrote ${lines.length} observations to ${relative(process.cwd(), CAPTURE_PATH)} in ${Date.now() - started} ms`,
  );
  if (problems.length > 0) {
    console.error(`not reproduced as intended:\n- ${problems.join('\n- ')}`);
    process.exitCode = 1;
  }
};

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
