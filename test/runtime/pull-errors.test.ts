// Real image-pull failures, produced by a real containerd CRI (and by containers/image, which CRI-O
// uses) against a real Distribution registry and misbehaving endpoints on loopback, worded as the
// kubelet reports them, and diagnosed.
//
// Needs root (mount namespaces, port 53 on a loopback address) and the Debian packages containerd,
// docker-registry, skopeo, openssl and apache2-utils. PULLWATCH_SKIP_RUNTIME_TESTS=1 skips the suite. Refresh the fixture with
// `npx tsx test/runtime/support/capture.ts`.
import { diagnose } from '#shared/diagnosis/diagnose';
import { CaseRunner, RUNTIMES, scenariosFor } from './support/cases';
import { INVALID_IMAGE_NAME_SHAPE, KUBELET_MESSAGE_SHAPE } from './support/kubelet';
import { startLab, type Lab } from './support/lab';
import { optOutReason } from './support/prerequisites';
import { CONTROLS } from './support/scenarios';

const LAB_START_MS = 120_000;
/** The slowest scenarios wait on 10–30 s timeouts; they all run concurrently from the start. */
const CASE_MS = 120_000;

const skipReason = optOutReason();
if (skipReason) console.warn(skipReason);
const describeLab = skipReason ? describe.skip : describe;

describeLab('image-pull failures from real runtimes, as the kubelet reports them', () => {
  let lab: Lab | undefined;
  let runner: CaseRunner | undefined;

  const cases = (): CaseRunner => {
    if (!runner) throw new Error('the lab did not start; see the beforeAll failure');
    return runner;
  };

  beforeAll(async () => {
    lab = await startLab();
    runner = new CaseRunner(lab);
  }, LAB_START_MS);

  afterAll(async () => {
    await runner?.settled();
    await lab?.stop();
  }, LAB_START_MS);

  describe.each(RUNTIMES)('%s', (runtime) => {
    test.each(scenariosFor(runtime, CONTROLS))(
      'control: $id ($description) succeeds',
      async (scenario) => {
        const outcome = await cases().control(runtime, scenario);
        expect(outcome.ok ? 'pulled' : outcome.detail).toBe('pulled');
      },
      CASE_MS,
    );

    test.each(scenariosFor(runtime))(
      '$id: $description',
      async (scenario) => {
        const { observation, runtimeText } = await cases().reproduction(runtime, scenario);

        expect(observation.message).toMatch(
          observation.reason === 'InvalidImageName' ? INVALID_IMAGE_NAME_SHAPE : KUBELET_MESSAGE_SHAPE,
        );
        // The failure is the one the scenario is about (not, say, a timeout where NXDOMAIN was meant).
        expect(runtimeText).toMatch(scenario[runtime]?.evidence ?? /^$/);

        const { reason, message, image } = observation;
        expect(diagnose({ reason, message, image }).cause).toBe(observation.expected);
      },
      CASE_MS,
    );
  });
});
