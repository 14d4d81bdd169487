// Generates src/api/schema/generated/definitions.json: the OpenAPI v3 component schemas of
// every type reachable from the kinds svcnet serves, named and shaped as kube-apiserver
// publishes them (io.k8s.api.core.v1.Service, allOf-wrapped $refs carrying a field's
// description and default, x-kubernetes-* list and map markers).
//
// Source: the kubernetes-types package's .d.ts files (v1.30.0), read with the TypeScript
// compiler API. Their doc comments are Kubernetes' field descriptions and a missing `?` marks a
// required field. What a .d.ts file cannot say comes from Kubernetes' Go types
// (k8s.io/api/{core,apps,discovery}/v1/types.go, k8s.io/apimachinery/pkg/apis/meta/v1/types.go)
// and is written down in the tables below ("facts"):
// - int64Fields: the d.ts says `number`; Go says int32 or int64. Integers are int32 unless listed.
// - fieldMarkers / atomicStructs: +listType, +listMapKey, +patchMergeKey, +patchStrategy,
//   +mapType and +structType.
// - enums: the constants of Go's +enum string types, sorted as kube-openapi sorts them.
// - defaults: +default markers, plus the zero-value defaults kube-openapi gives to Go fields that
//   are not pointers (structs get {}, required scalars their zero value, list items theirs).
//   Pointer-ness is not in the d.ts, so nonPointerStructFields lists the struct fields that are
//   values in Go; every other struct-typed field is taken to be a pointer.
//
// Run: node --import tsx scripts/gen-schemas.ts   (then commit the JSON it writes)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

const require = createRequire(import.meta.url);
const typesRoot = dirname(require.resolve('kubernetes-types/package.json'));
const outFile = new URL('../src/api/schema/generated/definitions.json', import.meta.url).pathname;

/** kubernetes-types module → the OpenAPI name prefix Kubernetes gives its Go package. */
const modules: Record<string, string> = {
  'core/v1': 'io.k8s.api.core.v1',
  'apps/v1': 'io.k8s.api.apps.v1',
  'discovery/v1': 'io.k8s.api.discovery.v1',
  'coordination/v1': 'io.k8s.api.coordination.v1',
  'autoscaling/v1': 'io.k8s.api.autoscaling.v1',
  'meta/v1': 'io.k8s.apimachinery.pkg.apis.meta.v1',
  'api/resource': 'io.k8s.apimachinery.pkg.api.resource',
  runtime: 'io.k8s.apimachinery.pkg.runtime',
};

const intOrStringName = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** The served kinds, their lists, and the types their operations take or return. */
const roots: string[] = [
  ...['Namespace', 'Node', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'Event', 'ServiceAccount'].flatMap((k) => [
    `io.k8s.api.core.v1.${k}`,
    `io.k8s.api.core.v1.${k}List`,
  ]),
  'io.k8s.api.core.v1.Binding',
  'io.k8s.api.discovery.v1.EndpointSlice',
  'io.k8s.api.discovery.v1.EndpointSliceList',
  'io.k8s.api.apps.v1.Deployment',
  'io.k8s.api.apps.v1.DeploymentList',
  'io.k8s.api.apps.v1.ReplicaSet',
  'io.k8s.api.apps.v1.ReplicaSetList',
  'io.k8s.api.autoscaling.v1.Scale',
  'io.k8s.api.coordination.v1.Lease',
  'io.k8s.api.coordination.v1.LeaseList',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Status',
  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions',
  'io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent',
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
];

// ---------------------------------------------------------------------------------------------
// Facts from the Go types. Keys are "GoType.jsonField"; "discovery/v1:EndpointPort.port" picks
// one package where two share a type name.

/** Integer fields that Go declares int64 (every other integer is int32). */
const int64Fields = new Set<string>([
  'ObjectMeta.generation',
  'ObjectMeta.deletionGracePeriodSeconds',
  'ListMeta.remainingItemCount',
  'DeleteOptions.gracePeriodSeconds',
  'Condition.observedGeneration',
  'DeploymentStatus.observedGeneration',
  'ReplicaSetStatus.observedGeneration',
  'ContainerImage.sizeBytes',
  'PodSecurityContext.runAsUser',
  'PodSecurityContext.runAsGroup',
  'PodSecurityContext.fsGroup',
  'PodSecurityContext.supplementalGroups',
  'SecurityContext.runAsUser',
  'SecurityContext.runAsGroup',
  'PodSpec.activeDeadlineSeconds',
  'PodSpec.terminationGracePeriodSeconds',
  'Probe.terminationGracePeriodSeconds',
  'ServiceAccountTokenProjection.expirationSeconds',
  'SleepAction.seconds',
  'Toleration.tolerationSeconds',
]);

interface FieldFacts {
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: string[];
  patchMergeKey?: string;
  patchStrategy?: string;
  mapType?: 'atomic' | 'granular';
}

const atomic: FieldFacts = { listType: 'atomic' };
const set: FieldFacts = { listType: 'set' };
const mapAtomic: FieldFacts = { mapType: 'atomic' };
/** +listType=map +listMapKey=<keys> +patchMergeKey=<keys[0]> +patchStrategy=<strategy> */
function mergeMap(keys: string[], strategy = 'merge'): FieldFacts {
  return { listType: 'map', listMapKeys: keys, patchMergeKey: keys[0], patchStrategy: strategy };
}

const containerLists: Record<string, FieldFacts> = {
  command: atomic,
  args: atomic,
  ports: mergeMap(['containerPort', 'protocol']),
  envFrom: atomic,
  env: mergeMap(['name']),
  volumeMounts: mergeMap(['mountPath']),
  volumeDevices: mergeMap(['devicePath']),
  resizePolicy: atomic,
};

const fieldMarkers: Record<string, Record<string, FieldFacts>> = {
  // meta/v1
  ObjectMeta: { ownerReferences: mergeMap(['uid']), finalizers: { ...set, patchStrategy: 'merge' }, managedFields: atomic },
  LabelSelector: { matchExpressions: atomic },
  LabelSelectorRequirement: { values: atomic },
  DeleteOptions: { dryRun: atomic },
  StatusDetails: { causes: atomic },
  // core/v1: pods
  PodSpec: {
    volumes: mergeMap(['name'], 'merge,retainKeys'),
    initContainers: mergeMap(['name']),
    containers: mergeMap(['name']),
    ephemeralContainers: mergeMap(['name']),
    imagePullSecrets: mergeMap(['name']),
    tolerations: atomic,
    hostAliases: mergeMap(['ip']),
    readinessGates: atomic,
    topologySpreadConstraints: mergeMap(['topologyKey', 'whenUnsatisfiable']),
    schedulingGates: mergeMap(['name']),
    resourceClaims: mergeMap(['name'], 'merge,retainKeys'),
    nodeSelector: mapAtomic,
  },
  PodStatus: {
    conditions: mergeMap(['type']),
    hostIPs: { listType: 'atomic', patchMergeKey: 'ip', patchStrategy: 'merge' },
    podIPs: mergeMap(['ip']),
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    resourceClaimStatuses: mergeMap(['name'], 'merge,retainKeys'),
  },
  Container: containerLists,
  EphemeralContainer: containerLists,
  ContainerStatus: { volumeMounts: mergeMap(['mountPath']) },
  ResourceRequirements: { claims: { listType: 'map', listMapKeys: ['name'] } },
  Capabilities: { add: atomic, drop: atomic },
  PodSecurityContext: { supplementalGroups: atomic, sysctls: atomic },
  PodDNSConfig: { nameservers: atomic, searches: atomic, options: atomic },
  HostAlias: { hostnames: atomic },
  NodeSelector: { nodeSelectorTerms: atomic },
  NodeSelectorTerm: { matchExpressions: atomic, matchFields: atomic },
  NodeSelectorRequirement: { values: atomic },
  NodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: atomic },
  PodAffinity: { requiredDuringSchedulingIgnoredDuringExecution: atomic, preferredDuringSchedulingIgnoredDuringExecution: atomic },
  PodAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: atomic, preferredDuringSchedulingIgnoredDuringExecution: atomic },
  PodAffinityTerm: { namespaces: atomic, matchLabelKeys: atomic, mismatchLabelKeys: atomic },
  TopologySpreadConstraint: { matchLabelKeys: atomic },
  ExecAction: { command: atomic },
  HTTPGetAction: { httpHeaders: atomic },
  ConfigMapVolumeSource: { items: atomic },
  ConfigMapProjection: { items: atomic },
  SecretVolumeSource: { items: atomic },
  SecretProjection: { items: atomic },
  DownwardAPIVolumeSource: { items: atomic },
  DownwardAPIProjection: { items: atomic },
  ProjectedVolumeSource: { sources: atomic },
  CephFSVolumeSource: { monitors: atomic },
  RBDVolumeSource: { monitors: atomic },
  ISCSIVolumeSource: { portals: atomic },
  FCVolumeSource: { targetWWNs: atomic, wwids: atomic },
  PersistentVolumeClaimSpec: { accessModes: atomic },
  // core/v1: services and endpoints
  ServiceSpec: {
    ports: mergeMap(['port', 'protocol']),
    selector: mapAtomic,
    clusterIPs: atomic,
    externalIPs: atomic,
    loadBalancerSourceRanges: atomic,
    ipFamilies: atomic,
  },
  ServiceStatus: { conditions: mergeMap(['type']) },
  LoadBalancerStatus: { ingress: atomic },
  LoadBalancerIngress: { ports: atomic },
  Endpoints: { subsets: atomic },
  EndpointSubset: { addresses: atomic, notReadyAddresses: atomic, ports: atomic },
  ServiceAccount: { secrets: mergeMap(['name']), imagePullSecrets: atomic },
  // core/v1: nodes and namespaces
  NodeSpec: { podCIDRs: { ...set, patchStrategy: 'merge' }, taints: atomic },
  NodeStatus: {
    conditions: mergeMap(['type']),
    addresses: mergeMap(['type']),
    images: atomic,
    volumesInUse: atomic,
    volumesAttached: atomic,
    runtimeHandlers: atomic,
  },
  ContainerImage: { names: atomic },
  NamespaceSpec: { finalizers: atomic },
  NamespaceStatus: { conditions: mergeMap(['type']) },
  // apps/v1
  DeploymentSpec: { strategy: { patchStrategy: 'retainKeys' } },
  DeploymentStatus: { conditions: mergeMap(['type']) },
  ReplicaSetStatus: { conditions: mergeMap(['type']) },
  // discovery/v1
  EndpointSlice: { endpoints: atomic, ports: atomic },
  Endpoint: { addresses: set },
  EndpointHints: { forZones: atomic },
};

/** Types marked +structType=atomic (published as x-kubernetes-map-type: atomic). */
const atomicStructs = new Set<string>([
  'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference',
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  'io.k8s.api.core.v1.ObjectReference',
  'io.k8s.api.core.v1.LocalObjectReference',
  'io.k8s.api.core.v1.TypedLocalObjectReference',
  'io.k8s.api.core.v1.ObjectFieldSelector',
  'io.k8s.api.core.v1.ResourceFieldSelector',
  'io.k8s.api.core.v1.ConfigMapKeySelector',
  'io.k8s.api.core.v1.SecretKeySelector',
  'io.k8s.api.core.v1.NodeSelector',
  'io.k8s.api.core.v1.NodeSelectorTerm',
  'io.k8s.api.core.v1.EndpointAddress',
  'io.k8s.api.core.v1.EndpointPort',
  'io.k8s.api.discovery.v1.EndpointPort',
]);

const protocols = ['SCTP', 'TCP', 'UDP'];
const pullPolicy = ['Always', 'IfNotPresent', 'Never'];
const terminationMessagePolicy = ['FallbackToLogsOnError', 'File'];
const taintEffect = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const nodeInclusionPolicy = ['Honor', 'Ignore'];
const seccompType = ['Localhost', 'RuntimeDefault', 'Unconfined'];
const containerEnums = { imagePullPolicy: pullPolicy, terminationMessagePolicy };

/** Values of Go +enum types, by field (for a list, the values of its items). */
const enums: Record<string, Record<string, string[]>> = {
  ServicePort: { protocol: protocols },
  ContainerPort: { protocol: protocols },
  EndpointPort: { protocol: protocols },
  PortStatus: { protocol: protocols },
  ServiceSpec: {
    type: ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'],
    sessionAffinity: ['ClientIP', 'None'],
    externalTrafficPolicy: ['Cluster', 'Local'],
    internalTrafficPolicy: ['Cluster', 'Local'],
    ipFamilies: ['', 'IPv4', 'IPv6'],
    ipFamilyPolicy: ['PreferDualStack', 'RequireDualStack', 'SingleStack'],
  },
  PodSpec: {
    restartPolicy: ['Always', 'Never', 'OnFailure'],
    dnsPolicy: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'],
    preemptionPolicy: ['Never', 'PreemptLowerPriority'],
  },
  PodStatus: { phase: ['Failed', 'Pending', 'Running', 'Succeeded', 'Unknown'], qosClass: ['BestEffort', 'Burstable', 'Guaranteed'] },
  Container: containerEnums,
  EphemeralContainer: containerEnums,
  HTTPGetAction: { scheme: ['HTTP', 'HTTPS'] },
  VolumeMount: { mountPropagation: ['Bidirectional', 'HostToContainer', 'None'] },
  NodeSelectorRequirement: { operator: ['DoesNotExist', 'Exists', 'Gt', 'In', 'Lt', 'NotIn'] },
  Taint: { effect: taintEffect },
  Toleration: { effect: taintEffect, operator: ['Equal', 'Exists'] },
  TopologySpreadConstraint: {
    whenUnsatisfiable: ['DoNotSchedule', 'ScheduleAnyway'],
    nodeAffinityPolicy: nodeInclusionPolicy,
    nodeTaintsPolicy: nodeInclusionPolicy,
  },
  PodSecurityContext: { fsGroupChangePolicy: ['Always', 'OnRootMismatch'] },
  SecurityContext: { procMount: ['Default', 'Unmasked'] },
  SeccompProfile: { type: seccompType },
  AppArmorProfile: { type: seccompType },
  NamespaceStatus: { phase: ['Active', 'Terminating'] },
  NodeStatus: { phase: ['Pending', 'Running', 'Terminated'] },
  DeploymentStrategy: { type: ['Recreate', 'RollingUpdate'] },
};

/** +default markers. */
const explicitDefaults: Record<string, Record<string, unknown>> = {
  ServicePort: { protocol: 'TCP' },
  ContainerPort: { protocol: 'TCP' },
  GRPCAction: { service: '' },
};

/** Struct-typed fields that Go declares as values, not pointers (kube-openapi defaults them to {}). */
const nonPointerStructFields: Record<string, string[]> = {
  PodTemplateSpec: ['spec'],
  DeploymentSpec: ['template'],
  ReplicaSetSpec: ['template'],
  Container: ['resources'],
  EphemeralContainer: ['resources'],
  ContainerStatus: ['state', 'lastState'],
  ServiceStatus: ['loadBalancer'],
  NodeStatus: ['daemonEndpoints', 'nodeInfo'],
  NodeDaemonEndpoints: ['kubeletEndpoint'],
  Event: ['involvedObject', 'source'],
  Binding: ['target'],
  WeightedPodAffinityTerm: ['podAffinityTerm'],
  PreferredSchedulingTerm: ['preference'],
  PodResourceClaim: ['source'],
  Endpoint: ['conditions'],
  PersistentVolumeClaimTemplate: ['spec'],
  WatchEvent: ['object'],
};

/** Types whose values are JSON primitives in Kubernetes' OpenAPI (no {} default). */
const primitiveNamed = new Set([
  intOrStringName,
  'io.k8s.apimachinery.pkg.api.resource.Quantity',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
]);

function facts<T>(table: Record<string, Record<string, T>>, module: string, owner: string, field: string): T | undefined {
  return table[`${module}:${owner}`]?.[field] ?? table[owner]?.[field];
}

// ---------------------------------------------------------------------------------------------
// Reading the .d.ts files

interface Decl {
  name: string; // full OpenAPI name
  module: string;
  node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration;
  source: ts.SourceFile;
  /** Local name → full OpenAPI name, from the file's imports and declarations. */
  scope: Map<string, string>;
}

const decls = new Map<string, Decl>();

/** The text of the doc comment before a node, with the comment markup removed. */
function docOf(node: ts.Node, source: ts.SourceFile): string | undefined {
  const text = source.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const last = ranges.filter((r) => text.slice(r.pos, r.pos + 3) === '/**').pop();
  if (!last) return undefined;
  const body = text.slice(last.pos + 3, last.end - 2);
  const lines = body.split('\n').map((l) => l.replace(/^\s*\* ?/, '').replace(/\s+$/, ''));
  while (lines.length && lines[0].trim() === '') lines.shift();
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 1) return lines[0].trim();
  return lines.join('\n');
}

function load(): void {
  for (const [mod, prefix] of Object.entries(modules)) {
    const file = join(typesRoot, `${mod}.d.ts`);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
    const scope = new Map<string, string>();
    for (const st of source.statements) {
      if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
        const from = join(mod, '..', st.moduleSpecifier.text).replace(/\\/g, '/');
        const target = modules[from];
        if (!target) throw new Error(`${mod}: import from unknown module ${from}`);
        const bindings = st.importClause?.namedBindings;
        if (bindings && ts.isNamedImports(bindings)) {
          for (const el of bindings.elements) scope.set(el.name.text, `${target}.${(el.propertyName ?? el.name).text}`);
        }
      }
    }
    for (const st of source.statements) {
      if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) {
        const name = `${prefix}.${st.name.text}`;
        scope.set(st.name.text, name);
        decls.set(name, { name, module: mod, node: st, source, scope });
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI v3 schema objects, as kube-openapi writes them

interface OpenApiSchema {
  $ref?: string;
  allOf?: OpenApiSchema[];
  oneOf?: OpenApiSchema[];
  type?: string;
  format?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: string;
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-group-version-kind'?: { group: string; kind: string; version: string }[];
}

const refPrefix = '#/components/schemas/';

/** The named types the walk reached, in the order first met. */
const reached = new Set<string>();
const queue: string[] = [];

function reach(name: string): void {
  if (!reached.has(name)) {
    reached.add(name);
    queue.push(name);
  }
}

interface FieldCtx {
  module: string;
  owner: string; // Go type name: "ServicePort"
  field: string;
}

/** A value's schema from its d.ts type node; a named type comes back as a bare $ref. */
function typeSchema(node: ts.TypeNode, decl: Decl, ctx: FieldCtx): OpenApiSchema {
  switch (node.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: 'string' };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: 'boolean' };
    case ts.SyntaxKind.NumberKeyword: {
      const key = `${ctx.owner}.${ctx.field}`;
      return { type: 'integer', format: int64Fields.has(key) ? 'int64' : 'int32' };
    }
    case ts.SyntaxKind.LiteralType:
      return { type: 'string' }; // apiVersion?: "v1", kind?: "Service"
  }
  if (ts.isUnionTypeNode(node)) {
    const kinds = node.types.map((t) => t.kind);
    if (kinds.length === 2 && kinds.includes(ts.SyntaxKind.NumberKeyword) && kinds.includes(ts.SyntaxKind.StringKeyword)) {
      reach(intOrStringName);
      return { $ref: refPrefix + intOrStringName };
    }
    throw new Error(`${ctx.owner}.${ctx.field}: unsupported union ${node.getText(decl.source)}`);
  }
  if (ts.isArrayTypeNode(node)) return { type: 'array', items: typeSchema(node.elementType, decl, ctx) };
  if (ts.isTypeReferenceNode(node)) {
    const local = node.typeName.getText(decl.source);
    if (local === 'Array' && node.typeArguments?.length === 1) {
      return { type: 'array', items: typeSchema(node.typeArguments[0], decl, ctx) };
    }
    const full = decl.scope.get(local);
    if (!full || !decls.has(full)) throw new Error(`${ctx.owner}.${ctx.field}: unknown type ${local}`);
    reach(full);
    return { $ref: refPrefix + full };
  }
  if (ts.isTypeLiteralNode(node)) {
    const index = node.members.find(ts.isIndexSignatureDeclaration);
    if (index && node.members.length === 1 && index.type) {
      return { type: 'object', additionalProperties: typeSchema(index.type, decl, ctx) };
    }
  }
  throw new Error(`${ctx.owner}.${ctx.field}: unsupported type ${node.getText(decl.source)}`);
}

function goName(full: string): string {
  return full.slice(full.lastIndexOf('.') + 1);
}

/** The zero value kube-openapi publishes as the default of a non-pointer value of this schema. */
function zeroValue(s: OpenApiSchema): unknown {
  if (s.$ref) return primitiveNamed.has(s.$ref.slice(refPrefix.length)) ? undefined : {};
  switch (s.type) {
    case 'string':
      return s.format === 'byte' ? undefined : '';
    case 'integer':
      return 0;
    case 'boolean':
      return false;
  }
  return undefined;
}

/** Wraps a $ref the way kube-openapi v3 does when the use site adds a description or default. */
function withExtras(s: OpenApiSchema, description: string | undefined, def: unknown): OpenApiSchema {
  if (s.$ref) {
    if (description === undefined && def === undefined) return s;
    const out: OpenApiSchema = { allOf: [{ $ref: s.$ref }] };
    if (def !== undefined) out.default = def;
    if (description !== undefined) out.description = description;
    return out;
  }
  const out: OpenApiSchema = { ...s };
  if (def !== undefined) out.default = def;
  if (description !== undefined) out.description = description;
  return out;
}

/** Element schemas: non-pointer elements default to their zero value ("" or {}). */
function elements(s: OpenApiSchema): OpenApiSchema {
  if (s.items) return { ...s, items: withExtras(s.items, undefined, zeroValue(s.items)) };
  if (s.additionalProperties) return { ...s, additionalProperties: withExtras(s.additionalProperties, undefined, zeroValue(s.additionalProperties)) };
  return s;
}

function definition(full: string): OpenApiSchema {
  if (full === intOrStringName) {
    return {
      description:
        'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
      format: 'int-or-string',
      oneOf: [{ type: 'integer' }, { type: 'string' }],
    };
  }
  const decl = decls.get(full);
  if (!decl) throw new Error(`unknown type ${full}`);
  const description = docOf(decl.node, decl.source);
  const owner = goName(full);
  if (ts.isTypeAliasDeclaration(decl.node)) {
    switch (owner) {
      case 'Time':
      case 'MicroTime':
        return { description, type: 'string', format: 'date-time' };
      case 'Quantity':
        return { description, oneOf: [{ type: 'string' }, { type: 'number' }] };
    }
    throw new Error(`unsupported alias ${full}`);
  }
  const out: OpenApiSchema = { description };
  const props: Record<string, OpenApiSchema> = {};
  const required: string[] = [];
  const topLevel = decl.node.members.some((m) => ts.isPropertySignature(m) && m.name.getText(decl.source) === 'apiVersion');
  for (const m of decl.node.members) {
    if (!ts.isPropertySignature(m) || !m.type) throw new Error(`${full}: unsupported member`);
    const field = m.name.getText(decl.source);
    const ctx = { module: decl.module, owner, field };
    let schema = elements(typeSchema(m.type, decl, ctx));
    const isRequired = !m.questionToken;
    if (isRequired) required.push(field);

    // Byte slices ([]byte: Secret.data, ConfigMap.binaryData) are base64 strings.
    if (owner === 'Secret' && field === 'data') schema = { type: 'object', additionalProperties: { type: 'string', format: 'byte' } };
    if (owner === 'ConfigMap' && field === 'binaryData') schema = { type: 'object', additionalProperties: { type: 'string', format: 'byte' } };

    const values = facts(enums, decl.module, owner, field);
    if (values) {
      if (schema.items) schema = { ...schema, items: { ...schema.items, enum: values } };
      else schema = { ...schema, enum: values };
    }

    let def = facts(explicitDefaults, decl.module, owner, field);
    if (def === undefined && schema.$ref && !primitiveNamed.has(schema.$ref.slice(refPrefix.length))) {
      const valueStruct = (topLevel && ['metadata', 'spec', 'status'].includes(field)) || (nonPointerStructFields[owner] ?? []).includes(field);
      if (valueStruct) def = {};
    }
    if (def === undefined && isRequired && !schema.$ref) def = zeroValue(schema);

    const prop = withExtras(schema, docOf(m, decl.source), def);
    const f = facts(fieldMarkers, decl.module, owner, field);
    if (f) {
      if (f.listType && prop.type !== 'array') throw new Error(`${full}.${field}: listType on a non-list`);
      if (f.listMapKeys) prop['x-kubernetes-list-map-keys'] = f.listMapKeys;
      if (f.listType) prop['x-kubernetes-list-type'] = f.listType;
      if (f.mapType) prop['x-kubernetes-map-type'] = f.mapType;
      if (f.patchMergeKey) prop['x-kubernetes-patch-merge-key'] = f.patchMergeKey;
      if (f.patchStrategy) prop['x-kubernetes-patch-strategy'] = f.patchStrategy;
    }
    props[field] = prop;
  }
  if (Object.keys(props).length || owner === 'RawExtension' || owner === 'FieldsV1' || owner === 'Patch') out.type = 'object';
  if (Object.keys(props).length) out.properties = props;
  if (required.length) out.required = required;
  if (atomicStructs.has(full)) out['x-kubernetes-map-type'] = 'atomic';
  const gvks = groupVersionKinds(decl);
  if (gvks.length) out['x-kubernetes-group-version-kind'] = gvks;
  return out;
}

/** Groups whose versions carry meta/v1's shared kinds (DeleteOptions, WatchEvent) in svcnet. */
const servedGroupVersions: [string, string][] = [
  ['', 'v1'],
  ['apps', 'v1'],
  ['autoscaling', 'v1'],
  ['coordination.k8s.io', 'v1'],
  ['discovery.k8s.io', 'v1'],
];

/** x-kubernetes-group-version-kind: from the literal apiVersion and kind of a d.ts kind. */
function groupVersionKinds(decl: Decl): { group: string; kind: string; version: string }[] {
  const owner = goName(decl.name);
  if (decl.module === 'meta/v1') {
    if (owner === 'Status' || owner === 'APIResourceList') return [{ group: '', kind: owner, version: 'v1' }];
    if (owner === 'DeleteOptions' || owner === 'WatchEvent') return servedGroupVersions.map(([group, version]) => ({ group, kind: owner, version }));
    return [];
  }
  const node = decl.node;
  if (!ts.isInterfaceDeclaration(node)) return [];
  const literal = (field: string): string | undefined => {
    for (const m of node.members) {
      if (ts.isPropertySignature(m) && m.name.getText(decl.source) === field && m.type && ts.isLiteralTypeNode(m.type) && ts.isStringLiteral(m.type.literal)) {
        return m.type.literal.text;
      }
    }
    return undefined;
  };
  const apiVersion = literal('apiVersion');
  const kind = literal('kind');
  if (!apiVersion || !kind) return [];
  const i = apiVersion.indexOf('/');
  return [{ group: i < 0 ? '' : apiVersion.slice(0, i), kind, version: i < 0 ? apiVersion : apiVersion.slice(i + 1) }];
}

/** Every table entry must name a field that exists, or a typo would silently drop a marker. */
function checkFacts(defs: Record<string, OpenApiSchema>): void {
  const fields = new Set<string>();
  for (const [name, d] of Object.entries(defs)) {
    const decl = decls.get(name);
    for (const f of Object.keys(d.properties ?? {})) {
      fields.add(`${goName(name)}.${f}`);
      if (decl) fields.add(`${decl.module}:${goName(name)}.${f}`);
    }
  }
  const tables: Record<string, Record<string, unknown>>[] = [fieldMarkers, enums, explicitDefaults];
  const keys = [
    ...[...int64Fields],
    ...tables.flatMap((t) => Object.entries(t).flatMap(([owner, fs]) => Object.keys(fs).map((f) => `${owner}.${f}`))),
    ...Object.entries(nonPointerStructFields).flatMap(([owner, fs]) => fs.map((f) => `${owner}.${f}`)),
  ];
  const missing = keys.filter((k) => !fields.has(k));
  if (missing.length) throw new Error(`facts name fields that do not exist: ${missing.join(', ')}`);
  for (const s of atomicStructs) if (!defs[s]) throw new Error(`atomicStructs names an unreached type: ${s}`);
}

function main(): void {
  load();
  for (const r of roots) reach(r);
  const defs: Record<string, OpenApiSchema> = {};
  while (queue.length) {
    const name = queue.shift()!;
    defs[name] = definition(name);
  }
  checkFacts(defs);
  const sorted = Object.fromEntries(Object.keys(defs).sort().map((k) => [k, defs[k]]));
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, JSON.stringify(sorted) + '\n');
  console.log(`${Object.keys(sorted).length} definitions → ${outFile}`);
}

main();
