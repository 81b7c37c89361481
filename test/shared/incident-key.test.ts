import fc from 'fast-check';
import {
  type IncidentKey,
  canonicalKey,
  incidentIdOf,
  incidentKeyOf,
  isKeyId,
  keyIdOf,
  parseIncidentId,
  workloadRef,
} from '#shared/incident-key';

const fields = {
  cluster: 'prod-eu',
  namespace: 'shop',
  workload: { kind: 'Deployment', name: 'web' },
  container: 'web',
  image: 'nginx:1.27-alpin',
};
const key = incidentKeyOf(fields, 'image-not-found');

describe('the incident key', () => {
  it('is cluster + namespace + workload + container + image + cause', () => {
    expect(key).toEqual({ ...fields, cause: 'image-not-found' });
    expect(canonicalKey(key)).toBe(
      '["prod-eu","shop","Deployment","web","web","nginx:1.27-alpin","image-not-found"]',
    );
  });

  it('ignores the pod: every replica of a workload shares the key', () => {
    const replica = { ...fields, pod: 'web-7d9c6b5f4-x2x9z', podUid: 'u1' };
    expect(keyIdOf(incidentKeyOf(replica, 'image-not-found'))).toBe(keyIdOf(key));
  });

  it('gives a short, stable, readable id', () => {
    const id = keyIdOf(key);
    expect(id).toMatch(/^pw-[0-9a-z]{12}$/);
    expect(id.slice(3)).not.toMatch(/[ilou]/);
    expect(keyIdOf({ ...key })).toBe(id);
    expect(isKeyId(id)).toBe(true);
  });

  it('tells apart keys that differ in any part, even where a separator could collide', () => {
    const a: IncidentKey = { ...key, namespace: 'a/b', workload: { kind: 'Deployment', name: 'c' } };
    const b: IncidentKey = { ...key, namespace: 'a', workload: { kind: 'Deployment', name: 'b/c' } };
    expect(keyIdOf(a)).not.toBe(keyIdOf(b));
    for (const change of [
      { cluster: 'prod-us' },
      { namespace: 'cart' },
      { workload: { kind: 'StatefulSet', name: 'web' } },
      { container: 'sidecar' },
      { image: 'nginx:1.27' },
      { cause: 'rate-limited' as const },
    ]) {
      expect(keyIdOf({ ...key, ...change })).not.toBe(keyIdOf(key));
    }
  });

  it('has no collisions among many distinct keys', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string(), { minLength: 200, maxLength: 200 }), (names) => {
        const ids = new Set(names.map((name) => keyIdOf({ ...key, workload: { kind: 'Deployment', name } })));
        expect(ids.size).toBe(names.length);
      }),
      { numRuns: 10 },
    );
  });

  it('numbers later incidents of the same key, and parses ids back', () => {
    const id = keyIdOf(key);
    expect(incidentIdOf(id, 1)).toBe(id);
    expect(incidentIdOf(id, 3)).toBe(`${id}.3`);
    expect(parseIncidentId(`${id}.3`)).toEqual({ keyId: id, generation: 3 });
    expect(parseIncidentId(id)).toEqual({ keyId: id, generation: 1 });
    for (const bad of [`${id}.1`, `${id}.0`, `${id}.x`, 'pw-short', `${id}.2.3`, '']) {
      expect(parseIncidentId(bad)).toBeUndefined();
    }
  });

  it('names workloads as kubectl does', () => {
    expect(workloadRef({ kind: 'StatefulSet', name: 'db' })).toBe('statefulset/db');
  });
});
