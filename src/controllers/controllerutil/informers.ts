// Indexes the workload controllers put on shared informers. Several controllers share one
// informer per resource, so an index is added once under a name that says what it indexes.
import type { KubeObject } from '../../api/index.ts';
import type { IndexFunc, Informer } from '../../client/index.ts';
import { controllerOf } from './owners.ts';

export const byNamespace = 'svcnet.io/namespace';
export const byControllerUid = 'svcnet.io/controller-uid';
export const byOwnerUid = 'svcnet.io/owner-uid';
export const byNodeName = 'svcnet.io/node-name';

const indexFuncs: Record<string, IndexFunc<KubeObject>> = {
  [byNamespace]: (o) => [o.metadata?.namespace ?? ''],
  [byControllerUid]: (o) => {
    const uid = controllerOf(o)?.uid;
    return uid ? [uid] : [];
  },
  [byOwnerUid]: (o) => (o.metadata?.ownerReferences ?? []).map((r) => r.uid),
  [byNodeName]: (o) => [((o as { spec?: { nodeName?: string } }).spec?.nodeName) ?? ''],
};

/** Adds one of the indexes above unless the informer has it already. */
export function ensureIndex<T extends KubeObject>(inf: Informer<T>, name: string): void {
  const fn = indexFuncs[name];
  if (!fn) throw new Error(`unknown index ${name}`);
  try {
    inf.addIndex(name, fn);
  } catch (e) {
    if (!(e instanceof Error && e.message.includes('already exists'))) throw e;
  }
}
