// Hand-built structural schemas for the patch tests: the parts of ObjectMeta, Service and
// Deployment/PodSpec the tests exercise, with Kubernetes' markers (the Go struct tags
// patchStrategy/patchMergeKey and +listType/+listMapKey/+mapType). Small on purpose: each field
// here is one a test reads. The generated schemas (schemaFor) are tested beside these.
import type { SchemaNode } from '../../../api/schema/index.ts';

const str: SchemaNode = { type: 'string' };
const int: SchemaNode = { type: 'integer', format: 'int32' };
const bool: SchemaNode = { type: 'boolean' };
const intOrString: SchemaNode = { intOrString: true, typeName: 'IntOrString' };
const stringMap: SchemaNode = { type: 'object', additionalProperties: str };

export const ownerReference: SchemaNode = {
  type: 'object',
  typeName: 'OwnerReference',
  required: ['apiVersion', 'kind', 'name', 'uid'],
  properties: { apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool },
};

export const objectMeta: SchemaNode = {
  type: 'object',
  typeName: 'ObjectMeta',
  properties: {
    name: str,
    generateName: str,
    namespace: str,
    uid: str,
    resourceVersion: str,
    generation: { type: 'integer', format: 'int64' },
    creationTimestamp: { type: 'string', format: 'date-time' },
    labels: stringMap,
    annotations: stringMap,
    finalizers: { type: 'array', items: str, listType: 'set', patchStrategy: 'merge' },
    ownerReferences: { type: 'array', items: ownerReference, listType: 'map', listMapKeys: ['uid'], patchStrategy: 'merge', patchMergeKey: 'uid' },
    managedFields: {
      type: 'array',
      listType: 'atomic',
      items: {
        type: 'object',
        typeName: 'ManagedFieldsEntry',
        properties: { manager: str, operation: str, apiVersion: str, time: str, fieldsType: str, fieldsV1: { type: 'object', preserveUnknownFields: true }, subresource: str },
      },
    },
  },
};

export const servicePort: SchemaNode = {
  type: 'object',
  typeName: 'ServicePort',
  required: ['port'],
  properties: {
    name: str,
    protocol: { type: 'string', default: 'TCP' },
    appProtocol: str,
    port: int,
    targetPort: intOrString,
    nodePort: int,
  },
};

export const service: SchemaNode = {
  type: 'object',
  typeName: 'Service',
  properties: {
    apiVersion: str,
    kind: str,
    metadata: objectMeta,
    spec: {
      type: 'object',
      typeName: 'ServiceSpec',
      properties: {
        ports: { type: 'array', items: servicePort, listType: 'map', listMapKeys: ['port', 'protocol'], patchStrategy: 'merge', patchMergeKey: 'port' },
        selector: { type: 'object', additionalProperties: str, mapType: 'atomic' },
        clusterIP: str,
        clusterIPs: { type: 'array', items: str, listType: 'atomic' },
        type: str,
        externalIPs: { type: 'array', items: str, listType: 'atomic' },
        sessionAffinity: str,
        externalTrafficPolicy: str,
        internalTrafficPolicy: str,
        ipFamilies: { type: 'array', items: str, listType: 'atomic' },
        ipFamilyPolicy: str,
      },
    },
    status: {
      type: 'object',
      typeName: 'ServiceStatus',
      properties: {
        loadBalancer: {
          type: 'object',
          typeName: 'LoadBalancerStatus',
          properties: { ingress: { type: 'array', listType: 'atomic', items: { type: 'object', properties: { ip: str, hostname: str } } } },
        },
        conditions: {
          type: 'array',
          listType: 'map',
          listMapKeys: ['type'],
          patchStrategy: 'merge',
          patchMergeKey: 'type',
          items: { type: 'object', typeName: 'Condition', properties: { type: str, status: str, reason: str, message: str } },
        },
      },
    },
  },
};

const containerPort: SchemaNode = {
  type: 'object',
  typeName: 'ContainerPort',
  required: ['containerPort'],
  properties: { name: str, containerPort: int, protocol: { type: 'string', default: 'TCP' } },
};

const envVar: SchemaNode = { type: 'object', typeName: 'EnvVar', required: ['name'], properties: { name: str, value: str } };

const volumeMount: SchemaNode = {
  type: 'object',
  typeName: 'VolumeMount',
  required: ['name', 'mountPath'],
  properties: { name: str, mountPath: str, readOnly: bool },
};

const container: SchemaNode = {
  type: 'object',
  typeName: 'Container',
  required: ['name'],
  properties: {
    name: str,
    image: str,
    command: { type: 'array', items: str, listType: 'atomic' },
    args: { type: 'array', items: str, listType: 'atomic' },
    ports: { type: 'array', items: containerPort, listType: 'map', listMapKeys: ['containerPort', 'protocol'], patchStrategy: 'merge', patchMergeKey: 'containerPort' },
    env: { type: 'array', items: envVar, listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge', patchMergeKey: 'name' },
    volumeMounts: { type: 'array', items: volumeMount, listType: 'map', listMapKeys: ['mountPath'], patchStrategy: 'merge', patchMergeKey: 'mountPath' },
    resources: { type: 'object', typeName: 'ResourceRequirements', properties: { limits: stringMap, requests: stringMap } },
  },
};

const volume: SchemaNode = {
  type: 'object',
  typeName: 'Volume',
  required: ['name'],
  properties: {
    name: str,
    emptyDir: { type: 'object', typeName: 'EmptyDirVolumeSource', properties: { medium: str } },
    configMap: { type: 'object', typeName: 'ConfigMapVolumeSource', properties: { name: str } },
  },
};

export const podSpec: SchemaNode = {
  type: 'object',
  typeName: 'PodSpec',
  required: ['containers'],
  properties: {
    containers: { type: 'array', items: container, listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge', patchMergeKey: 'name' },
    initContainers: { type: 'array', items: container, listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge', patchMergeKey: 'name' },
    volumes: { type: 'array', items: volume, listType: 'map', listMapKeys: ['name'], patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' },
    imagePullSecrets: {
      type: 'array',
      items: { type: 'object', typeName: 'LocalObjectReference', properties: { name: str } },
      listType: 'map',
      listMapKeys: ['name'],
      patchStrategy: 'merge',
      patchMergeKey: 'name',
    },
    tolerations: { type: 'array', listType: 'atomic', items: { type: 'object', typeName: 'Toleration', properties: { key: str, operator: str, value: str, effect: str } } },
    restartPolicy: str,
    nodeName: str,
  },
};

export const deployment: SchemaNode = {
  type: 'object',
  typeName: 'Deployment',
  properties: {
    apiVersion: str,
    kind: str,
    metadata: objectMeta,
    spec: {
      type: 'object',
      typeName: 'DeploymentSpec',
      required: ['selector', 'template'],
      properties: {
        replicas: int,
        selector: {
          type: 'object',
          typeName: 'LabelSelector',
          mapType: 'atomic',
          properties: { matchLabels: stringMap },
        },
        template: { type: 'object', typeName: 'PodTemplateSpec', properties: { metadata: objectMeta, spec: podSpec } },
        strategy: {
          type: 'object',
          typeName: 'DeploymentStrategy',
          patchStrategy: 'retainKeys',
          properties: {
            type: str,
            rollingUpdate: { type: 'object', typeName: 'RollingUpdateDeployment', properties: { maxSurge: intOrString, maxUnavailable: intOrString } },
          },
        },
        minReadySeconds: int,
      },
    },
    status: { type: 'object', typeName: 'DeploymentStatus', properties: { replicas: int, readyReplicas: int } },
  },
};

/**
 * strategicpatch's own test type (patch_test.go MergeItem): merging and non-merging lists of
 * items and ints, a string map, a replace-strategy field and retainKeys fields.
 */
export const mergeItem: SchemaNode = { type: 'object', typeName: 'MergeItem', properties: {} };
const retainKeysMergeItem: SchemaNode = { type: 'object', typeName: 'RetainKeysMergeItem', properties: {} };
Object.assign(mergeItem.properties ?? {}, {
  name: str,
  value: str,
  other: str,
  mergingList: { type: 'array', items: mergeItem, patchStrategy: 'merge', patchMergeKey: 'name' },
  nonMergingList: { type: 'array', items: mergeItem },
  mergingIntList: { type: 'array', items: int, patchStrategy: 'merge' },
  nonMergingIntList: { type: 'array', items: int },
  simpleMap: stringMap,
  replacingItem: { type: 'object', preserveUnknownFields: true, patchStrategy: 'replace' },
  retainKeysMap: { ...retainKeysMergeItem, patchStrategy: 'retainKeys' },
  retainKeysMergingList: { type: 'array', items: mergeItem, patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' },
});
Object.assign(retainKeysMergeItem.properties ?? {}, {
  name: str,
  value: str,
  other: str,
  simpleMap: stringMap,
  mergingIntList: { type: 'array', items: int, patchStrategy: 'merge' },
  mergingList: { type: 'array', items: mergeItem, patchStrategy: 'merge', patchMergeKey: 'name' },
  nonMergingList: { type: 'array', items: mergeItem },
});
