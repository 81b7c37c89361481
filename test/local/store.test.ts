/**
 * The local store's lifecycle on real folders: locks left by a crash (a dead process, a reused pid,
 * an empty or unreadable file) are taken over with a notice, a live one is respected; a missing,
 * damaged or unreadable LevelDB is said in one line (and repaired where LevelDB can); and a store
 * that starts afresh drops the forwarder checkpoint, so the failures of a real (fake) cluster are
 * shipped and stored again.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { loadKubeTarget } from '../../local/cluster';
import { loadLocalConfig } from '../../local/config';
import { startLocalMode } from '../../local/local-mode';
import { parseRecording } from '../../local/recording';
import { type LocalStore, StoreBusy, openLocalStore } from '../../local/store';
import { applyChange } from '../e2e/support/cluster-player';
import { FakeKubeApi } from '../support/fake-kube-api';

jest.setTimeout(90_000);

const ROOT = join(__dirname, '..', '..');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pullwatch-store-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
const folder = () => join(dir, `data-${++n}`);

/** A pid that belonged to a process that has exited. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(child.stdout);
};

const itemCount = async (store: LocalStore): Promise<number> => {
  const client = store.newClient();
  try {
    return (await client.send(new ScanCommand({ TableName: store.tableName, Select: 'COUNT' }))).Count ?? 0;
  } finally {
    client.destroy();
  }
};

const putItems = async (store: LocalStore, count: number): Promise<void> => {
  const client = store.newClient();
  try {
    for (let i = 0; i < count; i++) {
      await client.send(
        new PutItemCommand({
          TableName: store.tableName,
          Item: { pk: { S: `test#${i}` }, sk: { S: 'row' }, text: { S: 'x'.repeat(200) } },
        }),
      );
    }
  } finally {
    client.destroy();
  }
};

describe('the store lock', () => {
  it.each([
    ['empty', () => '', /took over the lock .*store\.lock: it was empty/],
    ['unreadable', () => '{"pid": 12', /took over the lock .*store\.lock: it was unreadable/],
    [
      'of a process that is gone',
      () => JSON.stringify({ pid: deadPid(), purpose: 'pullwatch start (demo)', shared: true }),
      /took over the lock .*store\.lock of pullwatch start \(demo\): its process \d+ is gone/,
    ],
    [
      'naming this process, left by an earlier one with the same pid (a container restart)',
      () => JSON.stringify({ pid: process.pid, purpose: 'pullwatch start (demo)', shared: false }),
      /its process \d+ is gone/,
    ],
    [
      'of a live pid that another process now has',
      () =>
        JSON.stringify({ pid: process.ppid, started: '1', purpose: 'pullwatch start (demo)', shared: false }),
      /the pid now belongs to another process/,
    ],
  ])('is taken over when it is %s, with a notice', async (_case, content, notice) => {
    const data = folder();
    const store0 = await openLocalStore(data, 'test');
    await store0.close();
    writeFileSync(join(data, 'store.lock'), content());
    const store = await openLocalStore(data, 'test', { waitMs: 500 });
    try {
      expect(store.owner).toBe(true);
      expect(store.notices).toEqual([expect.stringMatching(notice)]);
      expect(JSON.parse(readFileSync(join(data, 'store.lock'), 'utf8'))).toMatchObject({ pid: process.pid });
    } finally {
      await store.close();
    }
    expect(existsSync(join(data, 'store.lock'))).toBe(false);
    expect(readdirSync(data).filter((name) => name.startsWith('store.lock'))).toEqual([]);
  });

  it('is respected while its process lives, and the wait ends in one line', async () => {
    const data = folder();
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await openLocalStore(data, 'test').then((store) => store.close());
      writeFileSync(
        join(data, 'store.lock'),
        JSON.stringify({ pid: holder.pid, purpose: 'pullwatch incidents', shared: false }),
      );
      await expect(openLocalStore(data, 'test', { waitMs: 300 })).rejects.toThrow(
        new StoreBusy(
          `the store in ${data} is held by process ${holder.pid} (pullwatch incidents); try again when it is done`,
        ),
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('a missing, damaged or unreadable store', () => {
  /** A store with `count` items, closed. */
  const storeWith = async (count: number): Promise<string> => {
    const data = folder();
    const store = await openLocalStore(data, 'test');
    await putItems(store, count);
    await store.close();
    return data;
  };

  it('a new store starts afresh without a word; an intact one neither', async () => {
    const data = folder();
    const fresh = await openLocalStore(data, 'test');
    expect({ startsAfresh: fresh.startsAfresh, notices: fresh.notices }).toEqual({
      startsAfresh: true,
      notices: [],
    });
    await putItems(fresh, 3);
    await fresh.close();
    const again = await openLocalStore(data, 'test');
    expect({ startsAfresh: again.startsAfresh, notices: again.notices }).toEqual({
      startsAfresh: false,
      notices: [],
    });
    expect(await itemCount(again)).toBe(3);
    await again.close();
  });

  it('says when the dynamodb folder went missing from a used data folder', async () => {
    const data = await storeWith(3);
    writeFileSync(join(data, 'forwarder-checkpoint.json'), '{}');
    rmSync(join(data, 'dynamodb'), { recursive: true });
    const store = await openLocalStore(data, 'test');
    try {
      expect(store.startsAfresh).toBe(true);
      expect(store.notices).toEqual([
        `the store ${join(data, 'dynamodb')} is missing (an earlier run left other files in ${data}); a new, empty one was created`,
      ]);
      expect(await itemCount(store)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('says what LevelDB dropped when bytes of its log are flipped, and keeps the rest', async () => {
    const data = await storeWith(400);
    const db = join(data, 'dynamodb');
    const log = readdirSync(db)
      .filter((name) => name.endsWith('.log'))
      .sort((a, b) => statSync(join(db, b)).size - statSync(join(db, a)).size)[0]!;
    const bytes = readFileSync(join(db, log));
    expect(bytes.length).toBeGreaterThan(50_000);
    for (let at = 20_000; at < bytes.length; at += 30_000) bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(join(db, log), bytes);

    const store = await openLocalStore(data, 'test');
    try {
      expect(store.startsAfresh).toBe(true);
      expect(store.notices).toEqual([
        expect.stringMatching(
          new RegExp(
            `^the store ${db} was damaged: LevelDB dropped [\\d,]+ unreadable bytes of its log \\(incidents written last may be missing\\)$`,
          ),
        ),
      ]);
      const kept = await itemCount(store);
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(400);
    } finally {
      await store.close();
    }
  });

  it('repairs a store whose CURRENT is garbage, keeping every item and a copy of the damage', async () => {
    const data = await storeWith(50);
    writeFileSync(join(data, 'dynamodb', 'CURRENT'), 'garbage\u0000');
    const store = await openLocalStore(data, 'test');
    try {
      expect(store.startsAfresh).toBe(true);
      expect(store.notices).toHaveLength(1);
      expect(store.notices[0]).toMatch(
        /^the store .*dynamodb was damaged: it could not be read \(Corruption: CURRENT file does not end with newline\); LevelDB repaired it, and the damaged copy is kept in .*dynamodb\.damaged-[\dTZ-]+$/,
      );
      expect(await itemCount(store)).toBe(50);
      const copy = readdirSync(data).find((name) => name.startsWith('dynamodb.damaged-'))!;
      expect(readFileSync(join(data, copy, 'CURRENT'), 'utf8')).toBe('garbage\u0000');
    } finally {
      await store.close();
    }
  });
});

describe('a store that starts afresh', () => {
  it('drops the forwarder checkpoint, so failures already shipped are shipped and stored again', async () => {
    const api = await new FakeKubeApi().start();
    const recording = parseRecording(
      readFileSync(join(ROOT, 'test', 'fixtures', 'recordings', 'tag-typo.jsonl'), 'utf8'),
    );
    const now = Date.now();
    for (const change of recording.changes)
      applyChange(api, change, (ms) => now - 60_000 + (ms - recording.startedAt));
    const env = { KUBECONFIG: api.writeKubeconfig(dir), PULLWATCH_FLUSH_SECONDS: '1' };
    const data = folder();
    const start = async () => {
      const err: string[] = [];
      const handle = await startLocalMode({
        env,
        config: loadLocalConfig(
          { PULLWATCH_STORM_HOLD: '200ms', PULLWATCH_UPDATE_INTERVAL: '1h' },
          { dataDir: data },
        ),
        source: { kind: 'cluster', target: loadKubeTarget(env) },
        out: () => {},
        err: (text) => void err.push(text),
        cwd: ROOT,
      });
      return { handle, err };
    };
    const untilIncidents = async (handle: Awaited<ReturnType<typeof start>>['handle']) => {
      const until = Date.now() + 30_000;
      for (;;) {
        const { incidents } = await handle.queries.list({ limit: 10 });
        if (incidents.length > 0) return incidents;
        if (Date.now() > until) throw new Error('no incident stored');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    try {
      const first = await start();
      try {
        expect((await untilIncidents(first.handle)).map((incident) => incident.cause)).toEqual([
          'image-not-found',
        ]);
        // The checkpoint is written on the forwarder's flush: wait until it counts the failure as shipped.
        const checkpoint = join(data, 'forwarder-checkpoint.json');
        const until = Date.now() + 15_000;
        while (!existsSync(checkpoint) || !readFileSync(checkpoint, 'utf8').includes('web')) {
          if (Date.now() > until) throw new Error('no checkpoint written');
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        await first.handle.stop();
      }
      rmSync(join(data, 'dynamodb'), { recursive: true });

      const second = await start();
      try {
        expect((await untilIncidents(second.handle)).map((incident) => incident.cause)).toEqual([
          'image-not-found',
        ]);
        expect(second.err).toEqual([
          expect.stringMatching(
            /^pullwatch: the store .*dynamodb is missing .*; a new, empty one was created\n$/,
          ),
          expect.stringMatching(
            /^pullwatch: the store has none of the incidents .*forwarder-checkpoint\.json counts as shipped: dropped it, so current failures are shipped again\n$/,
          ),
        ]);
      } finally {
        await second.handle.stop();
      }
    } finally {
      await api.stop();
    }
  });
});
