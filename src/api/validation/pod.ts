// Pod and pod template validation: the parts of ValidatePodSpec, ValidatePodCreate,
// ValidatePodUpdate and ValidatePodStatusUpdate (core validation.go, Kubernetes 1.33) that
// kubectl users meet: containers, ports, env, probes, volumes and mounts, policies, scheduling
// fields, and the update rule that only images, activeDeadlineSeconds and tolerations change.
import type {
  Container,
  EnvFromSource,
  EnvVar,
  HTTPGetAction,
  Lifecycle,
  LifecycleHandler,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  Toleration,
  Volume,
} from 'kubernetes-types/core/v1.js';
import { fe, goPtr, goValueError, invalidEach, path, type FieldError } from './field.ts';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isHTTPHeaderName,
  isRelaxedEnvVarName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
} from './format.ts';
import { semanticEqual } from './equality.ts';
import {
  validateAnnotations,
  validateImmutableField,
  validateLabelName,
  validateLabels,
  validateNonnegativeField,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from './objectmeta.ts';
import {
  isValidIP,
  supportedPortProtocols,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validatePortNumOrName,
  validateQualifiedName,
} from './common.ts';
import { parseIPSloppy } from './net.ts';

const maxInt32 = 2147483647;

export interface PodValidationOptions {
  /** The object is a Pod (not a PodSpec embedded in a Deployment or ReplicaSet). */
  resourceIsPod: boolean;
}

function validateContainerPorts(c: Container, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (c.ports ?? []).forEach((p, i) => {
    const ip = path.index(field, i);
    if (p.name) {
      const msgs = isValidPortName(p.name);
      if (msgs.length) errs.push(...invalidEach(path.child(ip, 'name'), p.name, msgs));
      else if (names.has(p.name)) errs.push(fe.duplicate(path.child(ip, 'name'), p.name));
      else names.add(p.name);
    }
    if (!p.containerPort) errs.push(fe.required(path.child(ip, 'containerPort'), ''));
    else errs.push(...invalidEach(path.child(ip, 'containerPort'), p.containerPort, isValidPortNum(p.containerPort)));
    if (p.hostPort) errs.push(...invalidEach(path.child(ip, 'hostPort'), p.hostPort, isValidPortNum(p.hostPort)));
    if (!p.protocol) errs.push(fe.required(path.child(ip, 'protocol'), ''));
    else if (!(supportedPortProtocols as readonly string[]).includes(p.protocol)) {
      errs.push(fe.notSupported(path.child(ip, 'protocol'), p.protocol, supportedPortProtocols));
    }
  });
  return errs;
}

// ConvertDownwardAPIFieldLabel (v1) and the fields env vars may take from the pod.
const downwardAPIFieldLabels = new Set([
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.serviceAccountName',
  'spec.schedulerName',
  'status.phase',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
]);
const validEnvDownwardAPIFieldPaths = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const validContainerResourceFieldPaths = [
  'limits.cpu',
  'limits.ephemeral-storage',
  'limits.memory',
  'requests.cpu',
  'requests.ephemeral-storage',
  'requests.memory',
];

function splitSubscript(fieldPath: string): { path: string; subscript: string } | undefined {
  const m = /^(.+)\['(.*)'\]$/.exec(fieldPath);
  return m ? { path: m[1] ?? '', subscript: m[2] ?? '' } : undefined;
}

function validateObjectFieldSelector(apiVersion: string | undefined, fieldPath: string | undefined, field: string): FieldError[] {
  if (!apiVersion) return [fe.required(path.child(field, 'apiVersion'), '')];
  if (!fieldPath) return [fe.required(path.child(field, 'fieldPath'), '')];
  const sub = splitSubscript(fieldPath);
  const base = sub ? sub.path : fieldPath;
  if (!downwardAPIFieldLabels.has(base) || (sub && base !== 'metadata.annotations' && base !== 'metadata.labels')) {
    return [fe.invalid(path.child(field, 'fieldPath'), fieldPath, `error converting fieldPath: field label not supported: ${fieldPath}`)];
  }
  if (sub) {
    if (base === 'metadata.annotations') return validateQualifiedName(sub.subscript.toLowerCase(), field);
    return validateQualifiedName(sub.subscript, field);
  }
  if (!validEnvDownwardAPIFieldPaths.includes(base)) return [fe.notSupported(path.child(field, 'fieldPath'), base, validEnvDownwardAPIFieldPaths)];
  return [];
}

function validateKeySelector(name: string | undefined, key: string | undefined, field: string): FieldError[] {
  const errs = invalidEach(path.child(field, 'name'), name ?? '', nameIsDNSSubdomain(name ?? '', false));
  if (!key) errs.push(fe.required(path.child(field, 'key'), ''));
  else errs.push(...invalidEach(path.child(field, 'key'), key, isConfigMapKey(key)));
  return errs;
}

function validateEnvVarValueFrom(ev: EnvVar, field: string): FieldError[] {
  const vf = ev.valueFrom;
  if (!vf) return [];
  const errs: FieldError[] = [];
  let n = 0;
  if (vf.fieldRef) {
    n++;
    errs.push(...validateObjectFieldSelector(vf.fieldRef.apiVersion, vf.fieldRef.fieldPath, path.child(field, 'fieldRef')));
  }
  if (vf.resourceFieldRef) {
    n++;
    const r = vf.resourceFieldRef.resource;
    const p = path.child(field, 'resourceFieldRef');
    if (!r) errs.push(fe.required(path.child(p, 'resource'), ''));
    else if (!validContainerResourceFieldPaths.includes(r) && !/^(requests|limits)\.hugepages-/.test(r)) {
      errs.push(fe.notSupported(path.child(p, 'resource'), r, validContainerResourceFieldPaths));
    }
  }
  if (vf.configMapKeyRef) {
    n++;
    errs.push(...validateKeySelector(vf.configMapKeyRef.name, vf.configMapKeyRef.key, path.child(field, 'configMapKeyRef')));
  }
  if (vf.secretKeyRef) {
    n++;
    errs.push(...validateKeySelector(vf.secretKeyRef.name, vf.secretKeyRef.key, path.child(field, 'secretKeyRef')));
  }
  if (n === 0) errs.push(fe.invalid(field, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
  else if (ev.value) errs.push(fe.invalid(field, '', 'may not be specified when `value` is not empty'));
  else if (n > 1) errs.push(fe.invalid(field, '', 'may not have more than one field specified at a time'));
  return errs;
}

function validateEnv(vars: readonly EnvVar[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  (vars ?? []).forEach((ev, i) => {
    const ip = path.index(field, i);
    if (!ev.name) errs.push(fe.required(path.child(ip, 'name'), ''));
    else errs.push(...invalidEach(path.child(ip, 'name'), ev.name, isRelaxedEnvVarName(ev.name)));
    errs.push(...validateEnvVarValueFrom(ev, path.child(ip, 'valueFrom')));
  });
  return errs;
}

function validateEnvFrom(vars: readonly EnvFromSource[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  (vars ?? []).forEach((ev, i) => {
    const ip = path.index(field, i);
    if (ev.prefix) errs.push(...invalidEach(path.child(ip, 'prefix'), ev.prefix, isRelaxedEnvVarName(ev.prefix)));
    let n = 0;
    for (const [key, ref] of [
      ['configMapRef', ev.configMapRef],
      ['secretRef', ev.secretRef],
    ] as const) {
      if (!ref) continue;
      n++;
      const p = path.child(ip, key);
      if (!ref.name) errs.push(fe.required(path.child(p, 'name'), ''));
      else errs.push(...invalidEach(path.child(p, 'name'), ref.name, nameIsDNSSubdomain(ref.name, true)));
    }
    if (n === 0) errs.push(fe.invalid(field, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(fe.invalid(field, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateHTTPGet(h: HTTPGetAction, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!h.path) errs.push(fe.required(path.child(field, 'path'), ''));
  errs.push(...validatePortNumOrName(h.port, path.child(field, 'port')));
  if (h.scheme !== 'HTTP' && h.scheme !== 'HTTPS') errs.push(fe.notSupported(path.child(field, 'scheme'), h.scheme ?? '', ['HTTP', 'HTTPS']));
  for (const hdr of h.httpHeaders ?? []) errs.push(...invalidEach(path.child(field, 'httpHeaders'), hdr.name, isHTTPHeaderName(hdr.name)));
  return errs;
}

interface Handler {
  exec?: { command?: string[] };
  httpGet?: HTTPGetAction;
  tcpSocket?: { port: number | string };
  grpc?: { port: number };
  sleep?: { seconds: number };
}

function validateHandler(h: Handler, gracePeriod: number | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  const one = (key: string, check: () => FieldError[]): void => {
    if (n > 0) errs.push(fe.forbidden(path.child(field, key), 'may not specify more than 1 handler type'));
    else {
      n++;
      errs.push(...check());
    }
  };
  if (h.exec) one('exec', () => ((h.exec?.command ?? []).length === 0 ? [fe.required(path.child(field, 'exec', 'command'), '')] : []));
  if (h.httpGet) {
    const g = h.httpGet;
    one('httpGet', () => validateHTTPGet(g, path.child(field, 'httpGet')));
  }
  if (h.tcpSocket) {
    const t = h.tcpSocket;
    one('tcpSocket', () => validatePortNumOrName(t.port, path.child(field, 'tcpSocket', 'port')));
  }
  if (h.grpc) {
    const g = h.grpc;
    one('grpc', () => validatePortNumOrName(g.port, path.child(field, 'grpc', 'port')));
  }
  if (h.sleep) {
    const s = h.sleep;
    one('sleep', () =>
      gracePeriod !== undefined && (s.seconds <= 0 || s.seconds > gracePeriod)
        ? [
            fe.invalid(
              path.child(field, 'sleep'),
              s.seconds,
              `must be greater than 0 and less than terminationGracePeriodSeconds (${gracePeriod}). Enable AllowPodLifecycleSleepActionZeroValue feature gate for zero sleep.`,
            ),
          ]
        : [],
    );
  }
  if (n === 0) errs.push(fe.required(field, 'must specify a handler type'));
  return errs;
}

function validateProbe(p: Probe, gracePeriod: number | undefined, field: string): FieldError[] {
  const errs = validateHandler(p, gracePeriod, field);
  errs.push(...validateNonnegativeField(p.initialDelaySeconds, path.child(field, 'initialDelaySeconds')));
  errs.push(...validateNonnegativeField(p.timeoutSeconds, path.child(field, 'timeoutSeconds')));
  errs.push(...validateNonnegativeField(p.periodSeconds, path.child(field, 'periodSeconds')));
  errs.push(...validateNonnegativeField(p.successThreshold, path.child(field, 'successThreshold')));
  errs.push(...validateNonnegativeField(p.failureThreshold, path.child(field, 'failureThreshold')));
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds !== null && p.terminationGracePeriodSeconds <= 0) {
    errs.push(fe.invalid(path.child(field, 'terminationGracePeriodSeconds'), p.terminationGracePeriodSeconds, 'must be greater than 0'));
  }
  return errs;
}

function validateLivenessOrStartup(p: Probe | undefined, gracePeriod: number | undefined, field: string): FieldError[] {
  if (!p) return [];
  const errs = validateProbe(p, gracePeriod, field);
  if ((p.successThreshold ?? 0) !== 1) errs.push(fe.invalid(path.child(field, 'successThreshold'), p.successThreshold ?? 0, 'must be 1'));
  return errs;
}

function validateReadiness(p: Probe | undefined, gracePeriod: number | undefined, field: string): FieldError[] {
  if (!p) return [];
  const errs = validateProbe(p, gracePeriod, field);
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds !== null) {
    errs.push(fe.invalid(path.child(field, 'terminationGracePeriodSeconds'), p.terminationGracePeriodSeconds, 'must not be set for readinessProbes'));
  }
  return errs;
}

function validateLifecycle(l: Lifecycle, gracePeriod: number | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const handlers: [string, LifecycleHandler | undefined][] = [
    ['postStart', l.postStart],
    ['preStop', l.preStop],
  ];
  for (const [k, h] of handlers) if (h) errs.push(...validateHandler(h, gracePeriod, path.child(field, k)));
  return errs;
}

function validateVolumeMounts(c: Container, volumes: ReadonlySet<string>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const mountpoints = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const ip = path.index(field, i);
    if (!m.name) errs.push(fe.required(path.child(ip, 'name'), ''));
    if (!volumes.has(m.name)) errs.push(fe.notFound(path.child(ip, 'name'), m.name ?? ''));
    if (!m.mountPath) errs.push(fe.required(path.child(ip, 'mountPath'), ''));
    if (mountpoints.has(m.mountPath)) errs.push(fe.invalid(path.child(ip, 'mountPath'), m.mountPath, 'must be unique'));
    mountpoints.add(m.mountPath);
  });
  return errs;
}

function validatePullPolicy(policy: string | undefined, field: string): FieldError[] {
  if (!policy) return [fe.required(field, '')];
  if (!['Always', 'IfNotPresent', 'Never'].includes(policy)) return [fe.notSupported(field, policy, ['Always', 'IfNotPresent', 'Never'])];
  return [];
}

function validateContainerCommon(c: Container, volumes: ReadonlySet<string>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(fe.required(path.child(field, 'name'), ''));
  else errs.push(...validateDNS1123Label(c.name, path.child(field, 'name')));
  if (!c.image) errs.push(fe.required(path.child(field, 'image'), ''));
  const tmp = c.terminationMessagePolicy;
  if (!tmp) errs.push(fe.required(path.child(field, 'terminationMessagePolicy'), ''));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    errs.push(fe.notSupported(path.child(field, 'terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  }
  errs.push(...validateContainerPorts(c, path.child(field, 'ports')));
  errs.push(...validateEnv(c.env, path.child(field, 'env')));
  errs.push(...validateEnvFrom(c.envFrom, path.child(field, 'envFrom')));
  errs.push(...validateVolumeMounts(c, volumes, path.child(field, 'volumeMounts')));
  errs.push(...validatePullPolicy(c.imagePullPolicy, path.child(field, 'imagePullPolicy')));
  return errs;
}

function checkHostPortConflicts(containers: readonly Container[], field: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((c, ci) => {
    (c.ports ?? []).forEach((p, pi) => {
      if (!p.hostPort) return;
      const key = `${p.protocol ?? ''}/${p.hostIP ?? ''}/${p.hostPort}`;
      if (seen.has(key)) errs.push(fe.duplicate(path.child(path.index(path.child(path.index(field, ci), 'ports'), pi), 'hostPort'), key));
      else seen.add(key);
    });
  });
  return errs;
}

function validateContainers(containers: readonly Container[] | undefined, volumes: ReadonlySet<string>, gracePeriod: number | undefined, field: string): FieldError[] {
  const list = containers ?? [];
  if (list.length === 0) return [fe.required(field, '')];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list.forEach((c, i) => {
    const p = path.index(field, i);
    errs.push(...validateContainerCommon(c, volumes, p));
    if (names.has(c.name)) errs.push(fe.duplicate(path.child(p, 'name'), c.name));
    else names.add(c.name);
    if (c.lifecycle) errs.push(...validateLifecycle(c.lifecycle, gracePeriod, path.child(p, 'lifecycle')));
    errs.push(...validateLivenessOrStartup(c.livenessProbe, gracePeriod, path.child(p, 'livenessProbe')));
    errs.push(...validateReadiness(c.readinessProbe, gracePeriod, path.child(p, 'readinessProbe')));
    errs.push(...validateLivenessOrStartup(c.startupProbe, gracePeriod, path.child(p, 'startupProbe')));
    if (c.restartPolicy !== undefined && c.restartPolicy !== null) errs.push(fe.forbidden(path.child(p, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  errs.push(...checkHostPortConflicts(list, field));
  return errs;
}

function validateInitContainers(
  containers: readonly Container[] | undefined,
  regular: readonly Container[] | undefined,
  volumes: ReadonlySet<string>,
  gracePeriod: number | undefined,
  field: string,
): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set((regular ?? []).map((c) => c.name));
  (containers ?? []).forEach((c, i) => {
    const p = path.index(field, i);
    errs.push(...validateContainerCommon(c, volumes, p));
    let restartAlways = false;
    if (c.restartPolicy !== undefined && c.restartPolicy !== null) {
      if (c.restartPolicy !== 'Always') errs.push(fe.notSupported(path.child(p, 'restartPolicy'), c.restartPolicy, ['Always']));
      restartAlways = c.restartPolicy === 'Always';
    }
    if (names.has(c.name)) errs.push(fe.duplicate(path.child(p, 'name'), c.name));
    else if (c.name) names.add(c.name);
    errs.push(...checkHostPortConflicts([c], field));
    if (restartAlways) {
      if (c.lifecycle) errs.push(...validateLifecycle(c.lifecycle, gracePeriod, path.child(p, 'lifecycle')));
      errs.push(...validateLivenessOrStartup(c.livenessProbe, gracePeriod, path.child(p, 'livenessProbe')));
      errs.push(...validateReadiness(c.readinessProbe, gracePeriod, path.child(p, 'readinessProbe')));
      errs.push(...validateLivenessOrStartup(c.startupProbe, gracePeriod, path.child(p, 'startupProbe')));
    } else {
      const msg = 'may not be set for init containers without restartPolicy=Always';
      if (c.lifecycle) errs.push(fe.forbidden(path.child(p, 'lifecycle'), msg));
      if (c.livenessProbe) errs.push(fe.forbidden(path.child(p, 'livenessProbe'), msg));
      if (c.readinessProbe) errs.push(fe.forbidden(path.child(p, 'readinessProbe'), msg));
      if (c.startupProbe) errs.push(fe.forbidden(path.child(p, 'startupProbe'), msg));
    }
  });
  return errs;
}

const volumeSourceKeys = [
  'hostPath',
  'emptyDir',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
] as const;

function validateVolumes(volumes: readonly Volume[] | undefined, field: string): { names: Set<string>; errs: FieldError[] } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((v, i) => {
    const ip = path.index(field, i);
    const el: FieldError[] = [];
    const rec = v as unknown as Record<string, unknown>;
    const present = volumeSourceKeys.filter((k) => rec[k] !== undefined && rec[k] !== null);
    present.slice(1).forEach((k) => el.push(fe.forbidden(path.child(ip, k), 'may not specify more than 1 volume type')));
    if (present.length === 0) el.push(fe.required(ip, 'must specify a volume type'));
    const first = present[0];
    if (first === 'secret' && !v.secret?.secretName) el.push(fe.required(path.child(ip, 'secret', 'secretName'), ''));
    if (first === 'configMap' && !v.configMap?.name) el.push(fe.required(path.child(ip, 'configMap', 'name'), ''));
    if (first === 'hostPath' && !v.hostPath?.path) el.push(fe.required(path.child(ip, 'hostPath', 'path'), ''));
    if (first === 'persistentVolumeClaim' && !v.persistentVolumeClaim?.claimName) el.push(fe.required(path.child(ip, 'persistentVolumeClaim', 'claimName'), ''));
    if (!v.name) el.push(fe.required(path.child(ip, 'name'), ''));
    else el.push(...validateDNS1123Label(v.name, path.child(ip, 'name')));
    if (names.has(v.name)) el.push(fe.duplicate(path.child(ip, 'name'), v.name));
    if (el.length === 0) names.add(v.name);
    else errs.push(...el);
  });
  return { names, errs };
}

function validateTaintEffect(effect: string, allowEmpty: boolean, field: string): FieldError[] {
  if (!allowEmpty && !effect) return [fe.required(field, '')];
  if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(effect)) return [fe.notSupported(field, effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute'])];
  return [];
}

export function validateTolerations(tolerations: readonly Toleration[] | undefined, field: string): FieldError[] {
  const errs: FieldError[] = [];
  (tolerations ?? []).forEach((t, i) => {
    const ip = path.index(field, i);
    if (t.key) errs.push(...validateLabelName(t.key, path.child(ip, 'key')));
    if (!t.key && t.operator !== 'Exists') {
      errs.push(fe.invalid(path.child(ip, 'operator'), t.operator ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    }
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== 'NoExecute') {
      errs.push(fe.invalid(path.child(ip, 'effect'), t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (t.operator ?? '') {
      case 'Equal':
      case '': {
        const msgs = isValidLabelValue(t.value ?? '');
        if (msgs.length) errs.push(fe.invalid(path.child(ip, 'operator'), t.value ?? '', msgs.join(';')));
        break;
      }
      case 'Exists':
        if (t.value) errs.push(fe.invalid(path.child(ip, 'operator'), t.value, "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(fe.notSupported(path.child(ip, 'operator'), t.operator, ['Equal', 'Exists']));
    }
    if (t.effect) errs.push(...validateTaintEffect(t.effect, true, path.child(ip, 'effect')));
  });
  return errs;
}

/** ValidatePodSpec (the parts listed in the file comment). */
export function validatePodSpec(spec: PodSpec | undefined, field: string, opts: PodValidationOptions): FieldError[] {
  const s: PodSpec = spec ?? { containers: [] };
  const errs: FieldError[] = [];
  if (s.terminationGracePeriodSeconds === undefined || s.terminationGracePeriodSeconds === null) {
    errs.push(fe.required(path.child(field, 'terminationGracePeriodSeconds'), ''));
  }
  const grace = s.terminationGracePeriodSeconds ?? undefined;
  const vols = validateVolumes(s.volumes, path.child(field, 'volumes'));
  errs.push(...vols.errs);
  errs.push(...validateContainers(s.containers, vols.names, grace, path.child(field, 'containers')));
  errs.push(...validateInitContainers(s.initContainers, s.containers, vols.names, grace, path.child(field, 'initContainers')));

  if (s.hostNetwork) {
    (s.containers ?? []).forEach((c, ci) => {
      (c.ports ?? []).forEach((p, pi) => {
        const hp = p.hostPort ?? 0;
        if ((opts.resourceIsPod || hp !== 0) && hp !== p.containerPort) {
          const pp = path.child(path.index(path.child(path.index(path.child(field, 'containers'), ci), 'ports'), pi), 'hostPort');
          errs.push(fe.invalid(pp, hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      });
    });
  }

  const rp = s.restartPolicy ?? '';
  if (!rp) errs.push(fe.required(path.child(field, 'restartPolicy'), ''));
  else if (!['Always', 'OnFailure', 'Never'].includes(rp)) errs.push(fe.notSupported(path.child(field, 'restartPolicy'), rp, ['Always', 'OnFailure', 'Never']));
  const dp = s.dnsPolicy ?? '';
  const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (!dp) errs.push(fe.required(path.child(field, 'dnsPolicy'), ''));
  else if (!dnsPolicies.includes(dp)) errs.push(fe.notSupported(path.child(field, 'dnsPolicy'), dp, dnsPolicies));
  errs.push(...validateLabels(s.nodeSelector, path.child(field, 'nodeSelector')));

  const dnsField = path.child(field, 'dnsConfig');
  if (dp === 'None') {
    if (!s.dnsConfig) errs.push(fe.required(dnsField, 'must provide `dnsConfig` when `dnsPolicy` is None'));
    else if ((s.dnsConfig.nameservers ?? []).length === 0) {
      errs.push(fe.required(path.child(dnsField, 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
    }
  }
  if (s.dnsConfig) {
    const ns = s.dnsConfig.nameservers ?? [];
    if (ns.length > 3) errs.push(goValueError('FieldValueInvalid', path.child(dnsField, 'nameservers'), `[]string{${ns.map((x) => JSON.stringify(x)).join(', ')}}`, 'must not have more than 3 nameservers'));
    ns.forEach((n, i) => errs.push(...isValidIP(path.index(path.child(dnsField, 'nameservers'), i), n)));
    (s.dnsConfig.searches ?? []).forEach((sr, i) => errs.push(...validateDNS1123Subdomain(sr.replace(/\.$/, ''), path.index(path.child(dnsField, 'searches'), i))));
    (s.dnsConfig.options ?? []).forEach((o, i) => {
      if (!o.name) errs.push(fe.required(path.index(path.child(dnsField, 'options'), i), 'must not be empty'));
    });
  }

  if (s.serviceAccountName) errs.push(...invalidEach(path.child(field, 'serviceAccountName'), s.serviceAccountName, nameIsDNSSubdomain(s.serviceAccountName, false)));
  if (s.nodeName) errs.push(...invalidEach(path.child(field, 'nodeName'), s.nodeName, nameIsDNSSubdomain(s.nodeName, false)));
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds !== null) {
    const v = s.activeDeadlineSeconds;
    if (v < 1 || v > maxInt32) errs.push(fe.invalid(path.child(field, 'activeDeadlineSeconds'), v, inclusiveRangeError(1, maxInt32)));
  }
  if (s.hostname) errs.push(...validateDNS1123Label(s.hostname, path.child(field, 'hostname')));
  if (s.subdomain) errs.push(...validateDNS1123Label(s.subdomain, path.child(field, 'subdomain')));
  if ((s.tolerations ?? []).length > 0) errs.push(...validateTolerations(s.tolerations, path.child(field, 'tolerations')));
  (s.hostAliases ?? []).forEach((ha, i) => {
    const p = path.index(path.child(field, 'hostAliases'), i);
    errs.push(...isValidIP(path.child(p, 'ip'), ha.ip ?? ''));
    (ha.hostnames ?? []).forEach((h, j) => errs.push(...validateDNS1123Subdomain(h, path.index(path.child(p, 'hostnames'), j))));
  });
  if (s.priorityClassName) errs.push(...invalidEach(path.child(field, 'priorityClassName'), s.priorityClassName, nameIsDNSSubdomain(s.priorityClassName, false)));
  if (s.preemptionPolicy !== undefined && s.preemptionPolicy !== null) {
    const pp = s.preemptionPolicy;
    if (!pp) errs.push(fe.required(path.child(field, 'preemptionPolicy'), ''));
    else if (pp !== 'PreemptLowerPriority' && pp !== 'Never') errs.push(fe.notSupported(path.child(field, 'preemptionPolicy'), pp, ['PreemptLowerPriority', 'Never']));
  }
  return errs;
}

/** ValidatePodTemplateSpec: a template's labels, annotations and PodSpec. */
export function validatePodTemplateSpec(t: PodTemplateSpec | undefined, field: string): FieldError[] {
  const errs = validateLabels(t?.metadata?.labels, path.child(field, 'labels'));
  errs.push(...validateAnnotations(t?.metadata?.annotations, path.child(field, 'annotations')));
  errs.push(...validatePodSpec(t?.spec, path.child(field, 'spec'), { resourceIsPod: false }));
  if ((t?.spec?.ephemeralContainers ?? []).length > 0) {
    errs.push(fe.forbidden(path.child(field, 'spec', 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}

function validatePodMetadataAndSpec(pod: Pod): FieldError[] {
  const errs = validateObjectMeta(pod.metadata, true, nameIsDNSSubdomain);
  errs.push(...validatePodSpec(pod.spec, 'spec', { resourceIsPod: true }));
  const pod2 = pod.spec;
  for (const [key, list] of [
    ['containers', pod2?.containers ?? []],
    ['initContainers', pod2?.initContainers ?? []],
  ] as const) {
    list.forEach((c, i) => {
      if (c.image && c.image.trim() !== c.image) {
        errs.push(fe.invalid(path.child(path.index(path.child('spec', key), i), 'image'), c.image, 'must not have leading or trailing whitespace'));
      }
    });
  }
  return errs;
}

/** ValidatePodCreate. */
export function validatePodCreate(pod: Pod): FieldError[] {
  const errs = validatePodMetadataAndSpec(pod);
  if ((pod.spec?.ephemeralContainers ?? []).length > 0) errs.push(fe.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  if (pod.spec?.nodeName && (pod.spec.schedulingGates ?? []).length !== 0) {
    errs.push(fe.forbidden('spec.nodeName', 'cannot be set until all schedulingGates have been cleared'));
  }
  return errs;
}

const updatablePodSpecFields = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/** A short account of what differs, in place of Go's cmp.Diff (which cannot be reproduced). */
function specDiff(oldSpec: unknown, newSpec: unknown, prefix = ''): string[] {
  if (semanticEqual(oldSpec, newSpec)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(oldSpec) && isObj(newSpec) && Array.isArray(oldSpec) === Array.isArray(newSpec)) {
    const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
    return keys.flatMap((k) => specDiff(oldSpec[k], newSpec[k], Array.isArray(oldSpec) ? `${prefix}[${k}]` : prefix ? `${prefix}.${k}` : k));
  }
  return [`  ${prefix}: ${JSON.stringify(oldSpec ?? null)} -> ${JSON.stringify(newSpec ?? null)}`];
}

function validateOnlyAddedTolerations(newT: readonly Toleration[] | undefined, oldT: readonly Toleration[] | undefined, field: string): FieldError[] {
  for (const o of oldT ?? []) {
    const found = (newT ?? []).some((n) => semanticEqual({ ...o, tolerationSeconds: n.tolerationSeconds }, n));
    if (!found) return [fe.forbidden(field, 'existing toleration can not be modified except its tolerationSeconds')];
  }
  return validateTolerations(newT, field);
}

/** ValidatePodUpdate: only images, activeDeadlineSeconds (down), tolerations (added) may change. */
export function validatePodUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  errs.push(...validatePodMetadataAndSpec(pod));
  const ns: PodSpec = pod.spec ?? { containers: [] };
  const os: PodSpec = old.spec ?? { containers: [] };

  for (const key of ['containers', 'initContainers'] as const) {
    const nc = ns[key] ?? [];
    const oc = os[key] ?? [];
    if (nc.length !== oc.length) {
      errs.push(fe.forbidden(path.child('spec', key), 'pod updates may not add or remove containers'));
      return errs;
    }
    nc.forEach((c, i) => {
      if (!c.image) errs.push(fe.required(path.child(path.index(path.child('spec', key), i), 'image'), ''));
    });
  }

  if (ns.activeDeadlineSeconds !== undefined && ns.activeDeadlineSeconds !== null) {
    const v = ns.activeDeadlineSeconds;
    if (v < 0 || v > maxInt32) {
      errs.push(fe.invalid('spec.activeDeadlineSeconds', v, inclusiveRangeError(0, maxInt32)));
      return errs;
    }
    if (os.activeDeadlineSeconds !== undefined && os.activeDeadlineSeconds !== null && os.activeDeadlineSeconds < v) {
      errs.push(fe.invalid('spec.activeDeadlineSeconds', v, 'must be less than or equal to previous value'));
      return errs;
    }
  } else if (os.activeDeadlineSeconds !== undefined && os.activeDeadlineSeconds !== null) {
    errs.push(fe.invalid('spec.activeDeadlineSeconds', goPtr(ns.activeDeadlineSeconds), 'must not update from a positive integer to nil value'));
  }

  errs.push(...validateOnlyAddedTolerations(ns.tolerations, os.tolerations, 'spec.tolerations'));

  if (semanticEqual(ns, os)) return errs;
  const munged: PodSpec = structuredClone(ns);
  munged.containers = (munged.containers ?? []).map((c, i) => ({ ...c, image: os.containers[i]?.image ?? c.image }));
  if (munged.initContainers) munged.initContainers = munged.initContainers.map((c, i) => ({ ...c, image: os.initContainers?.[i]?.image ?? c.image }));
  munged.activeDeadlineSeconds = os.activeDeadlineSeconds;
  munged.tolerations = os.tolerations;
  munged.schedulingGates = os.schedulingGates;
  if ((os.terminationGracePeriodSeconds ?? 0) < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  }
  if (!semanticEqual(munged, os)) {
    const diff = specDiff(os, munged).join('\n');
    errs.push(fe.forbidden('spec', `pod updates may not change fields other than ${updatablePodSpecFields.join(',')}\n${diff}`));
  }
  return errs;
}

/** ValidatePodStatusUpdate (the parts a node agent's writes meet). */
export function validatePodStatusUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs = validateObjectMetaUpdate(pod.metadata, old.metadata);
  const system = new Set(['PodScheduled', 'Ready', 'Initialized']);
  (pod.status?.conditions ?? []).forEach((c, i) => {
    if (!system.has(c.type)) errs.push(...validateQualifiedName(c.type, path.child(path.index('metadata.conditions', i), 'Type')));
  });
  if ((pod.spec?.nodeName ?? '') !== (old.spec?.nodeName ?? '')) errs.push(fe.forbidden('status.nodeName', 'may not be changed directly'));
  const nn = pod.status?.nominatedNodeName;
  if (nn && nn !== old.status?.nominatedNodeName) errs.push(...invalidEach('status.nominatedNodeName', nn, nameIsDNSSubdomain(nn, false)));
  errs.push(...validateImmutableField(pod.status?.qosClass ?? '', old.status?.qosClass ?? '', 'status.qosClass'));

  const podIPs = pod.status?.podIPs ?? [];
  podIPs.forEach((p, i) => errs.push(...isValidIP(path.index('status.podIPs', i), p.ip ?? '')));
  if (podIPs.length > 1) {
    const fams = podIPs.map((p) => parseIPSloppy(p.ip ?? '')?.family);
    if (podIPs.length > 2 || fams[0] === fams[1]) {
      errs.push(goValueError('FieldValueInvalid', 'status.podIPs', `[]core.PodIP{${podIPs.map((p) => `core.PodIP{IP:${JSON.stringify(p.ip ?? '')}}`).join(', ')}}`, 'may specify no more than one IP for each IP family'));
    }
  }
  const hostIPs = pod.status?.hostIPs ?? [];
  if (hostIPs.length > 0) {
    if ((pod.status?.hostIP ?? '') !== hostIPs[0]?.ip) errs.push(fe.invalid('status.hostIPs[0].ip', hostIPs[0]?.ip ?? '', 'must be equal to `hostIP`'));
    hostIPs.forEach((h, i) => errs.push(...isValidIP(path.index('status.hostIPs', i), h.ip ?? '')));
  }

  // Containers that must not restart may not leave the terminated state.
  const restart = old.spec?.restartPolicy ?? 'Always';
  if (restart !== 'Always') {
    (old.status?.containerStatuses ?? []).forEach((o, i) => {
      const t = o.state?.terminated;
      if (!t) return;
      if (t.exitCode !== 0 && restart === 'OnFailure') return;
      for (const n of pod.status?.containerStatuses ?? []) {
        if (n.name === o.name && !n.state?.terminated) errs.push(fe.forbidden(path.child(path.index('status.containerStatuses', i), 'state'), 'may not be transitioned to non-terminated state'));
      }
    });
  }
  return errs;
}

/** ValidatePodBinding: the body of POST pods/{name}/binding (v1 Binding). */
export function validatePodBinding(binding: { target?: { kind?: string; name?: string } }): FieldError[] {
  const errs: FieldError[] = [];
  const kind = binding.target?.kind ?? '';
  if (kind !== '' && kind !== 'Node') errs.push(fe.notSupported('target.kind', kind, ['Node', '<empty>']));
  if (!binding.target?.name) errs.push(fe.required('target.name', ''));
  return errs;
}
