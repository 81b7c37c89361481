import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { listAllPages } from '../../forwarder/informers';

describe('listing a collection', () => {
  it('slims each page as it arrives, so only one page of full objects is ever held', async () => {
    const pages = [['a', 'b'], ['c', 'd'], ['e']];
    let slimmed = 0;
    const slimmedWhenAsked: number[] = [];
    const page = async (token: string | undefined): Promise<KubernetesListObject<KubernetesObject>> => {
      const index = token === undefined ? 0 : Number(token);
      slimmedWhenAsked.push(slimmed);
      return {
        metadata: {
          resourceVersion: String(100 + index),
          ...(index + 1 < pages.length ? { _continue: String(index + 1) } : {}),
        },
        items: (pages[index] ?? []).map((name) => ({
          metadata: { name, managedFields: [{ manager: 'x' }] },
        })),
      } as KubernetesListObject<KubernetesObject>;
    };
    const list = await listAllPages(page, (object) => {
      slimmed++;
      return { metadata: { name: object.metadata?.name ?? '' } };
    });
    // Before asking for page n, every object of the pages before it was slimmed.
    expect(slimmedWhenAsked).toEqual([0, 2, 4]);
    expect(list.items).toEqual(['a', 'b', 'c', 'd', 'e'].map((name) => ({ metadata: { name } })));
    expect(list.metadata?.resourceVersion).toBe('102');
  });
});
