// The ServiceAccounts controller's rule (pkg/controller/serviceaccount): every active namespace
// holds the `default` ServiceAccount; one deleted is made again.
import type { Namespace, ServiceAccount } from 'kubernetes-types/core/v1.js';

export const defaultServiceAccounts = ['default'];

/** The ServiceAccounts to create in a namespace: none while it terminates or is gone. */
export function missingServiceAccounts(ns: Namespace | undefined, has: (name: string) => boolean): ServiceAccount[] {
  if (!ns || ns.metadata?.deletionTimestamp || (ns.status?.phase ?? 'Active') !== 'Active') return [];
  return defaultServiceAccounts.filter((n) => !has(n)).map((name) => ({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } }));
}
