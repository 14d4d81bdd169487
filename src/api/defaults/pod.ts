// Pod defaults: SetDefaults_Pod, SetDefaults_PodSpec, SetDefaults_Container, SetDefaults_Probe,
// SetDefaults_HTTPGetAction, the volume sources' modes and the declarative defaults of
// pkg/apis/core/v1 (Kubernetes 1.33), plus the empty structs kubectl shows (resources: {}).
import type {
  Container,
  HTTPGetAction,
  Lifecycle,
  LifecycleHandler,
  Pod,
  PodSpec,
  PodTemplateSpec,
  Probe,
  Volume,
} from 'kubernetes-types/core/v1.js';

export const defaultTerminationGracePeriodSeconds = 30;
export const defaultSchedulerName = 'default-scheduler';
export const terminationMessagePathDefault = '/dev/termination-log';
/** 0644, the default mode of secret, configMap, downwardAPI and projected volumes. */
const defaultVolumeMode = 0o644;

/**
 * The tag parsers.ParseImageName would find: "latest" when the reference names neither a tag
 * nor a digest, "" when it has a digest only or does not parse (e.g. upper case).
 */
export function imageTag(image: string): string {
  if (!image || /\s/.test(image)) return '';
  let rest = image;
  let digest = '';
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag = '';
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  // Repository paths are lower case; anything else fails to parse.
  const path = rest.includes('/') && /[.:]|^localhost$/.test(rest.slice(0, rest.indexOf('/'))) ? rest.slice(rest.indexOf('/') + 1) : rest;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) return '';
  if (tag && !/^[\w][\w.-]{0,127}$/.test(tag)) return '';
  if (!tag && !digest) return 'latest';
  return tag;
}

function setDefaultsHTTPGet(h: HTTPGetAction | undefined): void {
  if (!h) return;
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

function setDefaultsProbe(p: Probe | undefined): void {
  if (!p) return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  setDefaultsHTTPGet(p.httpGet);
  // GRPCAction.service is declared with +default="".
  if (p.grpc && p.grpc.service === undefined) p.grpc.service = '';
}

function setDefaultsLifecycleHandler(h: LifecycleHandler | undefined): void {
  if (h) setDefaultsHTTPGet(h.httpGet);
}

function setDefaultsLifecycle(l: Lifecycle | undefined): void {
  if (!l) return;
  setDefaultsLifecycleHandler(l.postStart);
  setDefaultsLifecycleHandler(l.preStop);
}

/** SetDefaults_Container and the defaults of what a container holds. */
export function setDefaultsContainer(c: Container): void {
  if (!c.imagePullPolicy) c.imagePullPolicy = imageTag(c.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  if (!c.terminationMessagePath) c.terminationMessagePath = terminationMessagePathDefault;
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  for (const p of c.ports ?? []) if (!p.protocol) p.protocol = 'TCP';
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.fieldRef;
    if (ref && !ref.apiVersion) ref.apiVersion = 'v1';
  }
  setDefaultsProbe(c.livenessProbe);
  setDefaultsProbe(c.readinessProbe);
  setDefaultsProbe(c.startupProbe);
  setDefaultsLifecycle(c.lifecycle);
  // A struct, not a pointer, in Go: kubectl always shows "resources: {}".
  c.resources ??= {};
}

function setDefaultsVolume(v: Volume): void {
  const sources = Object.keys(v).filter((k) => k !== 'name');
  if (sources.length === 0) v.emptyDir = {};
  if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = defaultVolumeMode;
  if (v.configMap && v.configMap.defaultMode === undefined) v.configMap.defaultMode = defaultVolumeMode;
  if (v.downwardAPI) {
    if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = defaultVolumeMode;
    for (const item of v.downwardAPI.items ?? []) if (item.fieldRef && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
  }
  if (v.projected) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = defaultVolumeMode;
    for (const src of v.projected.sources ?? []) {
      if (src.serviceAccountToken && src.serviceAccountToken.expirationSeconds === undefined) src.serviceAccountToken.expirationSeconds = 3600;
      for (const item of src.downwardAPI?.items ?? []) if (item.fieldRef && !item.fieldRef.apiVersion) item.fieldRef.apiVersion = 'v1';
    }
  }
  if (v.hostPath && v.hostPath.type === undefined) v.hostPath.type = '';
}

/** SetDefaults_PodSpec and everything below it: what a Pod and a pod template share. */
export function setDefaultsPodSpec(spec: PodSpec): void {
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  spec.securityContext ??= {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    spec.terminationGracePeriodSeconds = defaultTerminationGracePeriodSeconds;
  }
  if (!spec.schedulerName) spec.schedulerName = defaultSchedulerName;
  // v1 conversion: the deprecated serviceAccount field mirrors serviceAccountName.
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const c of spec.containers ?? []) setDefaultsContainer(c);
  for (const c of spec.initContainers ?? []) setDefaultsContainer(c);
  for (const c of spec.ephemeralContainers ?? []) setDefaultsContainer(c);
  for (const v of spec.volumes ?? []) setDefaultsVolume(v);
}

/** Pod templates (Deployment, ReplicaSet): the PodSpec defaults, and the empty metadata kubectl shows. */
export function setDefaultsPodTemplateSpec(t: PodTemplateSpec | undefined): void {
  if (!t) return;
  t.metadata ??= {};
  // ObjectMeta.creationTimestamp is a struct in Go: an empty template shows "creationTimestamp: null".
  if (!('creationTimestamp' in t.metadata)) (t.metadata as Record<string, unknown>).creationTimestamp = null;
  t.spec ??= { containers: [] };
  setDefaultsPodSpec(t.spec);
}

function requestsFromLimits(c: Container): void {
  const limits = c.resources?.limits;
  if (!limits) return;
  c.resources ??= {};
  c.resources.requests ??= {};
  for (const [k, v] of Object.entries(limits)) if (!(k in c.resources.requests)) c.resources.requests[k] = v;
}

/** SetDefaults_Pod: the Pod-only defaults, then the PodSpec defaults. */
export function setDefaultsPod(pod: Pod): void {
  pod.spec ??= { containers: [] };
  const spec = pod.spec;
  for (const c of spec.containers ?? []) requestsFromLimits(c);
  for (const c of spec.initContainers ?? []) requestsFromLimits(c);
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  if (spec.hostNetwork) {
    for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      for (const p of c.ports ?? []) if (!p.hostPort) p.hostPort = p.containerPort;
    }
  }
  setDefaultsPodSpec(spec);
  (pod as { status?: Pod['status'] }).status ??= {};
}
