// Column definitions of kube-apiserver's printers (pkg/printers/internalversion/printers.go
// AddHandlers), with the descriptions Kubernetes takes from its types' documentation.
import { openApiDefinitions } from '../schema/index.ts';
import type { TableColumnDefinition } from './types.ts';

const core = 'io.k8s.api.core.v1';
const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';

/** The documentation of a field (what Go's SwaggerDoc() returns for it). */
export function fieldDoc(definition: string, field: string): string {
  const description = openApiDefinitions()[definition]?.properties?.[field]?.description;
  if (description === undefined) throw new Error(`no description for ${definition}.${field}`);
  return description;
}

export function column(name: string, type: string, description: string, priority = 0, format = ''): TableColumnDefinition {
  return { name, type, format, description, priority };
}

export const nameColumn = (): TableColumnDefinition => column('Name', 'string', fieldDoc(`${meta}.ObjectMeta`, 'name'), 0, 'name');
export const ageColumn = (): TableColumnDefinition => column('Age', 'string', fieldDoc(`${meta}.ObjectMeta`, 'creationTimestamp'));

const containersColumn = (): TableColumnDefinition => column('Containers', 'string', 'Names of each container in the template.', 1);
const imagesColumn = (): TableColumnDefinition => column('Images', 'string', 'Images referenced by each container in the template.', 1);

/** Column definitions by "<group>/<resource>". */
export const columnDefinitions: Record<string, () => TableColumnDefinition[]> = {
  '/pods': () => [
    nameColumn(),
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    ageColumn(),
    column('IP', 'string', fieldDoc(`${core}.PodStatus`, 'podIP'), 1),
    column('Node', 'string', fieldDoc(`${core}.PodSpec`, 'nodeName'), 1),
    column('Nominated Node', 'string', fieldDoc(`${core}.PodStatus`, 'nominatedNodeName'), 1),
    column('Readiness Gates', 'string', fieldDoc(`${core}.PodSpec`, 'readinessGates'), 1),
  ],
  '/services': () => [
    nameColumn(),
    column('Type', 'string', fieldDoc(`${core}.ServiceSpec`, 'type')),
    column('Cluster-IP', 'string', fieldDoc(`${core}.ServiceSpec`, 'clusterIP')),
    column('External-IP', 'string', fieldDoc(`${core}.ServiceSpec`, 'externalIPs')),
    column('Port(s)', 'string', fieldDoc(`${core}.ServiceSpec`, 'ports')),
    ageColumn(),
    column('Selector', 'string', fieldDoc(`${core}.ServiceSpec`, 'selector'), 1),
  ],
  '/endpoints': () => [nameColumn(), column('Endpoints', 'string', fieldDoc(`${core}.Endpoints`, 'subsets')), ageColumn()],
  '/nodes': () => [
    nameColumn(),
    column('Status', 'string', 'The status of the node'),
    column('Roles', 'string', 'The roles of the node'),
    ageColumn(),
    column('Version', 'string', fieldDoc(`${core}.NodeSystemInfo`, 'kubeletVersion')),
    column('Internal-IP', 'string', fieldDoc(`${core}.NodeStatus`, 'addresses'), 1),
    column('External-IP', 'string', fieldDoc(`${core}.NodeStatus`, 'addresses'), 1),
    column('OS-Image', 'string', fieldDoc(`${core}.NodeSystemInfo`, 'osImage'), 1),
    column('Kernel-Version', 'string', fieldDoc(`${core}.NodeSystemInfo`, 'kernelVersion'), 1),
    column('Container-Runtime', 'string', fieldDoc(`${core}.NodeSystemInfo`, 'containerRuntimeVersion'), 1),
  ],
  '/events': () => [
    column('Last Seen', 'string', fieldDoc(`${core}.Event`, 'lastTimestamp')),
    column('Type', 'string', fieldDoc(`${core}.Event`, 'type')),
    column('Reason', 'string', fieldDoc(`${core}.Event`, 'reason')),
    column('Object', 'string', fieldDoc(`${core}.Event`, 'involvedObject')),
    column('Subobject', 'string', fieldDoc(`${core}.ObjectReference`, 'fieldPath'), 1),
    column('Source', 'string', fieldDoc(`${core}.Event`, 'source'), 1),
    column('Message', 'string', fieldDoc(`${core}.Event`, 'message')),
    column('First Seen', 'string', fieldDoc(`${core}.Event`, 'firstTimestamp'), 1),
    column('Count', 'string', fieldDoc(`${core}.Event`, 'count'), 1),
    column('Name', 'string', fieldDoc(`${meta}.ObjectMeta`, 'name'), 1, 'name'),
  ],
  '/namespaces': () => [nameColumn(), column('Status', 'string', 'The status of the namespace'), ageColumn()],
  '/secrets': () => [
    nameColumn(),
    column('Type', 'string', fieldDoc(`${core}.Secret`, 'type')),
    column('Data', 'string', fieldDoc(`${core}.Secret`, 'data')),
    ageColumn(),
  ],
  '/serviceaccounts': () => [nameColumn(), column('Secrets', 'string', fieldDoc(`${core}.ServiceAccount`, 'secrets')), ageColumn()],
  '/configmaps': () => [nameColumn(), column('Data', 'string', fieldDoc(`${core}.ConfigMap`, 'data')), ageColumn()],
  'apps/deployments': () => [
    nameColumn(),
    column('Ready', 'string', 'Number of the pod with ready state'),
    column('Up-to-date', 'string', fieldDoc('io.k8s.api.apps.v1.DeploymentStatus', 'updatedReplicas')),
    column('Available', 'string', fieldDoc('io.k8s.api.apps.v1.DeploymentStatus', 'availableReplicas')),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    column('Selector', 'string', fieldDoc('io.k8s.api.apps.v1.DeploymentSpec', 'selector'), 1),
  ],
  'apps/replicasets': () => [
    nameColumn(),
    column('Desired', 'integer', fieldDoc('io.k8s.api.apps.v1.ReplicaSetSpec', 'replicas')),
    column('Current', 'integer', fieldDoc('io.k8s.api.apps.v1.ReplicaSetStatus', 'replicas')),
    column('Ready', 'integer', fieldDoc('io.k8s.api.apps.v1.ReplicaSetStatus', 'readyReplicas')),
    ageColumn(),
    containersColumn(),
    imagesColumn(),
    column('Selector', 'string', fieldDoc('io.k8s.api.apps.v1.ReplicaSetSpec', 'selector'), 1),
  ],
  'discovery.k8s.io/endpointslices': () => [
    nameColumn(),
    column('AddressType', 'string', fieldDoc('io.k8s.api.discovery.v1.EndpointSlice', 'addressType')),
    column('Ports', 'string', fieldDoc('io.k8s.api.discovery.v1.EndpointSlice', 'ports')),
    column('Endpoints', 'string', fieldDoc('io.k8s.api.discovery.v1.EndpointSlice', 'endpoints')),
    ageColumn(),
  ],
  'coordination.k8s.io/leases': () => [nameColumn(), column('Holder', 'string', fieldDoc('io.k8s.api.coordination.v1.LeaseSpec', 'holderIdentity')), ageColumn()],
};
