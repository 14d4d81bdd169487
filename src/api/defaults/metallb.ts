// metallb.io/v1beta1 CRD defaults (the +kubebuilder:default markers of api/v1beta1).
import type { IPAddressPool } from '../validation/index.ts';

export function setDefaultsIPAddressPool(pool: IPAddressPool): void {
  pool.spec ??= {};
  pool.spec.autoAssign ??= true;
  pool.spec.avoidBuggyIPs ??= false;
}
