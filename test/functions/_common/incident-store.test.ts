/**
 * The incident store's key read (loadKey) against dynalite: a fold in turns reads a turn's rows
 * together with the heads, and uses them only if the head is still the one the turn before left.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoIncidentStore, type HeadVersion } from '../../../functions/_common/incident-store';
import { scanAll } from '../../support/dynalite';
import { type Pipeline, failed, recovered, startPipeline } from '../support/pipeline';

jest.setTimeout(60_000);

let pipeline: Pipeline;
let clients: DynamoDBClient[];
beforeEach(async () => {
  pipeline = await startPipeline();
  clients = [];
});
afterEach(async () => {
  for (const client of clients) client.destroy();
  await pipeline.stop();
});

const pod = (n: number) => ({ pod: `web-7d9c6b5f4-${n}`, at: n });

/** The container id of pod `n` (its pod UID and container name, as the pipeline's events carry them). */
const containerOf = (n: number) => `uid-web-7d9c6b5f4-${n}/web`;

/**
 * Pod 0 fails, then pod 1 (pod 0's register has left the journal for its row): the only
 * incident's key, and its head now.
 */
const twoPodsFailed = async (): Promise<{ keyId: string; head: HeadVersion }> => {
  await pipeline.flow([failed(pod(0))]);
  await pipeline.flow([failed(pod(1))]);
  const heads = (await scanAll(pipeline.dynamo)).filter((item) => String(item.sk).startsWith('GEN#'));
  expect(heads).toHaveLength(1);
  const keyId = String(heads[0]!.keyId);
  const [stored] = await pipeline.store.loadKey(keyId, []);
  return { keyId, head: { generation: stored!.incident.generation, version: stored!.version } };
};

/** A store of its own over the pipeline's table, each of whose calls is sent by `around`. */
const storeThrough = (
  around: <T>(command: string, send: () => Promise<T>) => Promise<T>,
): DynamoIncidentStore => {
  const client = pipeline.dynamo.newClient();
  clients.push(client);
  client.middlewareStack.add(
    (next, context) => (args) => around(String(context.commandName), () => next(args)),
    { step: 'initialize', name: 'around' },
  );
  return new DynamoIncidentStore(client, { tableName: pipeline.dynamo.tableName, windows: pipeline.windows });
};

describe('loadKey with the head a turn left', () => {
  it('reads the rows with the heads, and gives what a read after the head gives', async () => {
    const { keyId, head } = await twoPodsFailed();
    const ids = [containerOf(0), containerOf(1), containerOf(7)];

    const calls: string[] = [];
    const store = storeThrough((command, send) => {
      calls.push(command);
      return send();
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
  });

  it('reads the rows again when the head moved on since: a register may have moved to its row meanwhile', async () => {
    const { keyId, head } = await twoPodsFailed();

    // The rows are read first; before the heads are, another writer recovers pod 0 and then folds
    // pod 2, which moves pod 0's new register from the journal into its row.
    let interfere!: () => void;
    const interfered = new Promise<void>((resolve) => {
      interfere = resolve;
    });
    let rowsRead = false;
    const store = storeThrough(async (command, send) => {
      if (command === 'QueryCommand') await interfered;
      const result = await send();
      if (command === 'BatchGetItemCommand' && !rowsRead) {
        rowsRead = true;
        await pipeline.flow([recovered({ ...pod(0), at: 5 })]);
        await pipeline.flow([failed({ ...pod(2), at: 6 })]);
        interfere();
      }
      return result;
    });
    const [loaded] = await store.loadKey(keyId, [containerOf(0)], head);
    expect(rowsRead).toBe(true);
    expect(loaded!.version).toBeGreaterThan(head.version);
    expect(loaded!.journal.registers[containerOf(0)]).toBeUndefined();
    expect(loaded!.incident.containers[containerOf(0)]!.state).not.toBe('failing');
  });
});
