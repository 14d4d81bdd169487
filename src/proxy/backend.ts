// The seam between the shared model and a data plane: the nftables backend (root, netns mode)
// and a userspace backend (host mode) both take the same desired state.
import type { NamespacedName, ProxyState } from './types.ts';

export interface SyncResult {
  /** "full": everything re-sent; "adopt": first sync against a table left by an earlier run; "incremental": only changes. */
  mode: 'full' | 'adopt' | 'incremental';
  /** Element additions and deletions sent. */
  elements: number;
  /** Size of the script sent (0: nothing needed sending). */
  bytes: number;
}

export interface ProxyBackend {
  readonly name: string;
  /**
   * Makes the data plane match state. changed names the Services whose state may differ from the
   * previous call; undefined means any may (the first sync, and after a failure). Rejects when the
   * data plane could not be updated; the next call then repairs everything.
   */
  sync(state: ProxyState, changed: ReadonlySet<NamespacedName> | undefined): Promise<SyncResult>;
  /** Asks the next sync to re-send everything (kube-proxy's periodic full sync). */
  requestFullSync(): void;
}
