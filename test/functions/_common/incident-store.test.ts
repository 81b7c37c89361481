/**
 * The incident store's key read (loadKey) against dynalite: a fold in turns reads a turn's rows
 * together with the heads, and uses them only if the head is still the one the turn before left.
 */
import { DynamoIncidentStore, type HeadVersion } from '../../../functions/_common/incident-store';
import { scanAll } from '../../support/dynalite';
import { type Pipeline, failed, recovered, startPipeline } from '../support/pipeline';

jest.setTimeout(60_000);

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipeline();
});
afterEach(async () => {
  await pipeline.stop();
});

const pod = (n: number) => ({ pod: `web-7d9c6b5f4-${n}`, at: n });

/** The container id of pod `n` (its pod UID and container name, as the pipeline's events carry them). */
const containerOf = (n: number) => `uid-web-7d9c6b5f4-${n}/web`;

/** The only incident's key, and its head now. */
const keyOf = async (): Promise<{ keyId: string; head: HeadVersion }> => {
  const heads = (await scanAll(pipeline.dynamo)).filter((item) => String(item.sk).startsWith('GEN#'));
  expect(heads).toHaveLength(1);
  const keyId = String(heads[0]!.keyId);
  const [stored] = await pipeline.store.loadKey(keyId, []);
  return { keyId, head: { generation: stored!.incident.generation, version: stored!.version } };
};

describe('loadKey with the head a turn left', () => {
  it('reads the rows with the heads, and gives what a read after the head gives', async () => {
    // Pod 0 fails, then pod 1: pod 0's register has left the journal for its row.
    await pipeline.flow([failed(pod(0))]);
    await pipeline.flow([failed(pod(1))]);
    const { keyId, head } = await keyOf();
    const ids = [containerOf(0), containerOf(1), containerOf(7)];

    const calls: string[] = [];
    const client = pipeline.dynamo.newClient();
    client.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'count' },
    );
    const store = new DynamoIncidentStore(client, {
      tableName: pipeline.dynamo.tableName,
      windows: pipeline.windows,
    });
    const after = await store.loadKey(keyId, ids);
    calls.length = 0;
    const together = await store.loadKey(keyId, ids, head);

    expect(together).toEqual(after);
    expect(Object.keys(together[0]!.incident.containers).sort()).toEqual(
      [containerOf(0), containerOf(1)].sort(),
    );
    expect(together[0]!.incident.containers[containerOf(0)]!.state).toBe('failing');
    // The heads and the rows, asked for at once (the text is remembered from the first read).
    expect(calls.sort()).toEqual(['BatchGetItemCommand', 'QueryCommand']);
    client.destroy();
  });

  it('reads the rows again when the head moved on since: a register may have moved to its row meanwhile', async () => {
    await pipeline.flow([failed(pod(0))]);
    await pipeline.flow([failed(pod(1))]);
    const { keyId, head } = await keyOf();

    // The rows are read first; before the heads are, another writer recovers pod 0 and then folds
    // pod 2, which moves pod 0's new register from the journal into its row.
    const client = pipeline.dynamo.newClient();
    let interfere!: () => void;
    const interfered = new Promise<void>((resolve) => {
      interfere = resolve;
    });
    let rowsRead = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'QueryCommand') await interfered;
        const result = await next(args);
        if (context.commandName === 'BatchGetItemCommand' && !rowsRead) {
          rowsRead = true;
          await pipeline.flow([recovered({ ...pod(0), at: 5 })]);
          await pipeline.flow([failed({ ...pod(2), at: 6 })]);
          interfere();
        }
        return result;
      },
      { step: 'initialize', name: 'interfere' },
    );
    const store = new DynamoIncidentStore(client, {
      tableName: pipeline.dynamo.tableName,
      windows: pipeline.windows,
    });
    const [loaded] = await store.loadKey(keyId, [containerOf(0)], head);
    expect(rowsRead).toBe(true);
    expect(loaded!.version).toBeGreaterThan(head.version);
    expect(loaded!.journal.registers[containerOf(0)]).toBeUndefined();
    expect(loaded!.incident.containers[containerOf(0)]!.state).not.toBe('failing');
    client.destroy();
  });
});
