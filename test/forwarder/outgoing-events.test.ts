import { failedDetailSchema, recoveredDetailSchema } from '#shared/contract';
import { ContainerTracker, type Decision } from '../../forwarder/container-tracker';
import { eventFor } from '../../forwarder/outgoing-events';
import { NOT_FOUND_STATUS, WORKLOAD, at, observe, pod, running, waiting } from './pods';

describe('outgoing events', () => {
  it('builds events that satisfy the contract', () => {
    const tracker = new ContainerTracker();
    const [entered] = tracker.observe(
      observe(pod({ app: waiting('ErrImagePull', NOT_FOUND_STATUS) })),
      WORKLOAD,
      at(0),
    );
    const [recovered] = tracker.observe(observe(pod({ app: running })), WORKLOAD, at(3));
    const failedEvent = eventFor(entered as Decision, 'prod-eu', at(1));
    expect(failedDetailSchema.parse(failedEvent.detail)).toMatchObject({
      cluster: 'prod-eu',
      workload: WORKLOAD,
      containerType: 'regular',
      image: 'registry.example.com/web:1.2',
      messageTruncated: false,
    });
    const recoveredEvent = eventFor(recovered as Decision, 'prod-eu', at(3));
    expect(recoveredDetailSchema.parse(recoveredEvent.detail).recovery).toBe('started');
    expect(recoveredEvent.key).toBe(failedEvent.key);
  });
});

describe('image volume events', () => {
  it("ship as the pod's member volume:<name>, of type volume, within the contract", () => {
    const MODELS = 'registry.example.com/models:v3';
    const base = pod({
      app: waiting('ErrImagePull', `failed to pull and unpack image "${MODELS}": not found`),
    });
    const subject = {
      ...base,
      spec: {
        ...base.spec,
        containers: [{ ...base.spec?.containers?.[0], volumeMounts: [{ name: 'models' }] }],
        volumes: [{ name: 'models', image: { reference: MODELS } }],
      },
    };
    const tracker = new ContainerTracker();
    const decisions = tracker.observe(observe(subject), WORKLOAD, at(0));
    expect(decisions).toHaveLength(1);
    const detail = failedDetailSchema.parse(eventFor(decisions[0] as Decision, 'prod-eu', at(0)).detail);
    expect(detail).toMatchObject({
      container: 'volume:models',
      containerType: 'volume',
      image: MODELS,
      workload: WORKLOAD,
    });
  });
});
