// MetalLB's custom resources (metallb.io/v1beta1, as of MetalLB v0.14/v0.15: api/v1beta1
// ipaddresspool_types.go and l2advertisement_types.go, config/crd/bases/*.yaml), written as
// kube-apiserver publishes a CRD's schema: one definition per kind, named
// <reversed group>.<version>.<Kind>, everything inline except ObjectMeta and ListMeta.
import type { OpenApiSchema } from './definitions.ts';

const meta = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const ref = (name: string): OpenApiSchema => ({ $ref: `#/components/schemas/${meta}.${name}` });

const apiVersion: OpenApiSchema = {
  description:
    'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
  type: 'string',
};
const kindField: OpenApiSchema = {
  description:
    'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
  type: 'string',
};

/** A built-in definition copied inline with its $refs resolved, as controller-gen writes CRDs. */
function inline(builtIn: Record<string, OpenApiSchema>, name: string): OpenApiSchema {
  const expand = (s: OpenApiSchema): OpenApiSchema => {
    const target = s.$ref ?? (s.allOf?.length === 1 ? s.allOf[0].$ref : undefined);
    if (target) {
      const resolved = builtIn[target.slice('#/components/schemas/'.length)];
      if (!resolved) throw new Error(`unresolved ${target}`);
      const out = expand(resolved);
      return s.description ? { ...out, description: s.description } : out;
    }
    const out: OpenApiSchema = { ...s };
    delete out.default;
    if (s.items) out.items = expand(s.items);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') out.additionalProperties = expand(s.additionalProperties);
    if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, expand(v)]));
    return out;
  };
  const def = builtIn[name];
  if (!def) throw new Error(`unknown definition ${name}`);
  return expand(def);
}

function selectors(selector: OpenApiSchema, description: string): OpenApiSchema {
  return { description, items: selector, type: 'array' };
}

function strings(description: string): OpenApiSchema {
  return { description, items: { type: 'string' }, type: 'array' };
}

function kind(
  group: string,
  version: string,
  kindName: string,
  description: string,
  spec: OpenApiSchema,
  status: OpenApiSchema,
  required: string[],
): Record<string, OpenApiSchema> {
  const prefix = `${group.split('.').reverse().join('.')}.${version}`;
  return {
    [`${prefix}.${kindName}`]: {
      description,
      properties: {
        apiVersion,
        kind: kindField,
        metadata: {
          allOf: [ref('ObjectMeta')],
          description: "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
        },
        spec,
        status,
      },
      ...(required.length ? { required } : {}),
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group, kind: kindName, version }],
    },
    [`${prefix}.${kindName}List`]: {
      description: `${kindName}List is a list of ${kindName}`,
      properties: {
        apiVersion,
        items: {
          description: `List of ${kindName.toLowerCase()}s. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md`,
          items: { $ref: `#/components/schemas/${prefix}.${kindName}` },
          type: 'array',
        },
        kind: kindField,
        metadata: {
          allOf: [ref('ListMeta')],
          description: 'Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
        },
      },
      required: ['items'],
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group, kind: `${kindName}List`, version }],
    },
  };
}

/** IPAddressPool and L2Advertisement (and their lists), given the built-in definitions. */
export function metallbDefinitions(builtIn: Record<string, OpenApiSchema>): Record<string, OpenApiSchema> {
  const selector = inline(builtIn, `${meta}.LabelSelector`);
  const counter = (description: string): OpenApiSchema => ({ description, format: 'int64', type: 'integer' });
  const pool = kind(
    'metallb.io',
    'v1beta1',
    'IPAddressPool',
    'IPAddressPool represents a pool of IP addresses that can be allocated to LoadBalancer services.',
    {
      description: 'IPAddressPoolSpec defines the desired state of IPAddressPool.',
      properties: {
        addresses: strings(
          'A list of IP address ranges over which MetalLB has authority. You can list multiple ranges in a single pool, they will all share the same settings. Each range can be either a CIDR prefix, or an explicit start-end range of IPs.',
        ),
        autoAssign: { default: true, description: 'AutoAssign flag used to prevent MetallB from automatic allocation for a pool.', type: 'boolean' },
        avoidBuggyIPs: { default: false, description: 'AvoidBuggyIPs prevents addresses ending with .0 and .255 to be used by a pool.', type: 'boolean' },
        serviceAllocation: {
          description:
            "AllocateTo makes ip pool allocation to specific namespace and/or service. The controller will use the pool with lowest value of priority in case of multiple matches. A pool with no priority set will be used only if the pools with priority can't be used. If multiple matching IPAddressPools are available it will check for the availability of IPs sorting the matching IPAddressPools by priority, starting from the highest to the lowest. If multiple IPAddressPools have the same priority, choice will be random.",
          properties: {
            namespaceSelectors: selectors(selector, 'NamespaceSelectors list of label selectors to select namespace(s) for ip pool, an alternative to using namespace list.'),
            namespaces: strings('Namespaces list of namespace(s) on which ip pool can be attached.'),
            priority: { description: 'Priority priority given for ip pool while ip allocation on a service.', type: 'integer' },
            serviceSelectors: selectors(selector, 'ServiceSelectors list of label selector to select service(s) for which ip pool can be used for ip allocation.'),
          },
          type: 'object',
        },
      },
      required: ['addresses'],
      type: 'object',
    },
    {
      description: 'IPAddressPoolStatus defines the observed state of IPAddressPool.',
      properties: {
        assignedIPv4: counter('AssignedIPv4 is the number of assigned IPv4 addresses.'),
        assignedIPv6: counter('AssignedIPv6 is the number of assigned IPv6 addresses.'),
        availableIPv4: counter('AvailableIPv4 is the number of available IPv4 addresses.'),
        availableIPv6: counter('AvailableIPv6 is the number of available IPv6 addresses.'),
      },
      required: ['assignedIPv4', 'assignedIPv6', 'availableIPv4', 'availableIPv6'],
      type: 'object',
    },
    ['spec'],
  );
  const l2 = kind(
    'metallb.io',
    'v1beta1',
    'L2Advertisement',
    'L2Advertisement allows to advertise the LoadBalancer IPs provided by the selected pools via L2.',
    {
      description: 'L2AdvertisementSpec defines the desired state of L2Advertisement.',
      properties: {
        interfaces: strings(
          'A list of interfaces to announce from. The LB IP will be announced only from these interfaces. If the field is not set, we advertise from all the interfaces on the host.',
        ),
        ipAddressPoolSelectors: selectors(
          selector,
          'A selector for the IPAddressPools which would get advertised via this advertisement. If no IPAddressPool is selected by this or by the list, the advertisement is applied to all the IPAddressPools.',
        ),
        ipAddressPools: strings('The list of IPAddressPools to advertise via this advertisement, selected by name.'),
        nodeSelectors: selectors(
          selector,
          'NodeSelectors allows to limit the nodes to announce as next hops for the LoadBalancer IP. When empty, all the nodes having  are announced as next hops.',
        ),
      },
      type: 'object',
    },
    { description: 'L2AdvertisementStatus defines the observed state of L2Advertisement.', type: 'object' },
    [],
  );
  return { ...pool, ...l2 };
}
