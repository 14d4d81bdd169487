// A container's environment as kubelet makes it (pkg/kubelet/kubelet_pods.go
// makeEnvironmentVariables, pkg/kubelet/envvars, third_party/forked/golang/expansion): envFrom,
// env with valueFrom and $(VAR) expansion, the Kubernetes service variables, and $(VAR)
// expansion of command and args. Pure but for the ConfigMap/Secret look-ups it is handed.
import type { ConfigMap, Container, EnvVar, Pod, Secret, Service } from 'kubernetes-types/core/v1.js';
import { joinHostPort } from '../util/index.ts';

/** kubelet's expansion.Expand: $(VAR) from the mapping, $$ escapes, anything else verbatim. */
export function expand(input: string, mapping: (name: string) => string): string {
  let out = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    let read: string;
    let isVar = false;
    let advance: number;
    if (rest[0] === '$') {
      read = '$';
      advance = 1;
    } else if (rest[0] === '(') {
      const close = rest.indexOf(')', 1);
      if (close >= 1) {
        read = rest.slice(1, close);
        isVar = true;
        advance = close + 1;
      } else {
        read = '$(';
        advance = 1;
      }
    } else {
      read = `$${rest[0]}`;
      advance = 1;
    }
    out += isVar ? mapping(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

/** expansion.MappingFuncFor: the first map that has the name, else the reference unchanged. */
export function mappingFor(...maps: ReadonlyMap<string, string>[]): (name: string) => string {
  return (name) => {
    for (const m of maps) {
      const v = m.get(name);
      if (v !== undefined) return v;
    }
    return `$(${name})`;
  };
}

function envName(s: string): string {
  return s.toUpperCase().replaceAll('-', '_');
}

function isServiceIPSet(s: Service): boolean {
  const ip = s.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/** envvars.FromServices: {NAME}_SERVICE_HOST/_PORT[_PORTNAME] and the docker-link variables. */
export function serviceEnvVars(services: readonly Service[]): [string, string][] {
  const out: [string, string][] = [];
  for (const s of services) {
    if (!isServiceIPSet(s) || !s.spec?.ports?.length) continue;
    const ip = s.spec.clusterIP!;
    const prefix = envName(s.metadata?.name ?? '');
    out.push([`${prefix}_SERVICE_HOST`, ip]);
    const portName = `${prefix}_SERVICE_PORT`;
    out.push([portName, String(s.spec.ports[0].port)]);
    for (const p of s.spec.ports) if (p.name) out.push([`${portName}_${envName(p.name)}`, String(p.port)]);
    s.spec.ports.forEach((p, i) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      const url = `${proto}://${joinHostPort(ip, p.port)}`;
      if (i === 0) out.push([`${prefix}_PORT`, url]);
      const pp = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
      out.push([pp, url], [`${pp}_PROTO`, proto], [`${pp}_PORT`, String(p.port)], [`${pp}_ADDR`, ip]);
    });
  }
  return out;
}

/**
 * kubelet's getServiceEnvVarMap: the pod's namespace's Services when enableServiceLinks, and
 * always the `kubernetes` Service of the default namespace.
 */
export function servicesForPod(all: readonly Service[], namespace: string, enableServiceLinks: boolean): Service[] {
  const byName = new Map<string, Service>();
  for (const s of all) {
    if (!isServiceIPSet(s)) continue;
    const name = s.metadata?.name ?? '';
    if (s.metadata?.namespace === 'default' && name === 'kubernetes') {
      if (!byName.has(name)) byName.set(name, s);
    } else if (s.metadata?.namespace === namespace && enableServiceLinks) byName.set(name, s);
  }
  return [...byName.values()].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

/** A reason the container cannot be configured (kubelet's CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override readonly name = 'ContainerConfigError';
}

export interface EnvContext {
  pod: Pod;
  podIPs: readonly string[];
  hostIPs: readonly string[];
  /** All Services known (servicesForPod picks). */
  services: readonly Service[];
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** Node allocatable for resourceFieldRef without a limit: cpu (cores) and memory (bytes). */
  allocatable?: { cpu: number; memory: number };
  /** Warnings kubelet records as Events (skipped envFrom keys). */
  warn?(reason: string, message: string): void;
}

const validEnvName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** The value of a fieldRef (kubelet's podFieldSelectorRuntimeValue and fieldpath.ExtractFieldPathAsString). */
export function fieldRefValue(path: string, ctx: Pick<EnvContext, 'pod' | 'podIPs' | 'hostIPs'>): string {
  const { pod } = ctx;
  const m = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (sub[1] === 'labels' ? m.labels : m.annotations)?.[sub[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return m.name ?? '';
    case 'metadata.namespace':
      return m.namespace ?? '';
    case 'metadata.uid':
      return m.uid ?? '';
    case 'metadata.labels':
      return formatMap(m.labels);
    case 'metadata.annotations':
      return formatMap(m.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return ctx.hostIPs[0] ?? '';
    case 'status.hostIPs':
      return ctx.hostIPs.join(',');
    case 'status.podIP':
      return ctx.podIPs[0] ?? '';
    case 'status.podIPs':
      return ctx.podIPs.join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldPath: ${path}`);
  }
}

const binarySuffix: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimalSuffix: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A resource.Quantity as a number ("500m" → 0.5, "1Gi" → 1073741824). */
export function parseQuantity(q: string | number | undefined): number | undefined {
  if (q === undefined) return undefined;
  if (typeof q === 'number') return q;
  const m = /^([+-]?[0-9.]+)(?:[eE]([+-]?\d+))?([a-zA-Z]*)$/.exec(q.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * (m[2] ? 10 ** Number(m[2]) : 1);
  const s = m[3] ?? '';
  const mult = binarySuffix[s] ?? decimalSuffix[s];
  return mult === undefined ? undefined : n * mult;
}

function resourceFieldValue(container: Container, resource: string, divisor: string | number | undefined, ctx: EnvContext): string {
  const [kind, name] = resource.split('.') as ['limits' | 'requests', string];
  const res = container.resources ?? {};
  let v = parseQuantity((kind === 'limits' ? res.limits : res.requests)?.[name]);
  if (v === undefined && kind === 'limits') v = name === 'cpu' ? ctx.allocatable?.cpu : name === 'memory' ? ctx.allocatable?.memory : undefined;
  if (v === undefined && kind === 'requests') v = parseQuantity(res.limits?.[name]) ?? 0;
  const d = parseQuantity(divisor) || 1;
  return String(Math.ceil((v ?? 0) / d));
}

function decodeSecret(s: Secret, key: string): string | undefined {
  const b = s.data?.[key];
  if (b !== undefined) return Buffer.from(b, 'base64').toString('utf8');
  return s.stringData?.[key];
}

/**
 * The container's Kubernetes environment, in kubelet's order (envFrom, env, then service
 * variables not already set). `base` are variables the runtime sets first (PATH, HOSTNAME,
 * POD_IP); they may be referenced by $(VAR) and are overridden by the pod's own.
 */
export async function containerEnv(container: Container, ctx: EnvContext, base: ReadonlyMap<string, string> = new Map()): Promise<Map<string, string>> {
  const pod = ctx.pod;
  const ns = pod.metadata?.namespace ?? 'default';
  const serviceEnv = new Map(serviceEnvVars(servicesForPod(ctx.services, ns, pod.spec?.enableServiceLinks ?? true)));
  const tmp = new Map<string, string>();
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const invalid: string[] = [];
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? '';
      const cm = await ctx.configMap(ns, name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) {
        const key = prefix + k;
        if (!validEnvName.test(key)) invalid.push(key);
        else tmp.set(key, v);
      }
      if (invalid.length) ctx.warn?.('InvalidEnvironmentVariableNames', `Keys [${invalid.sort().join(', ')}] from the EnvFrom configMap ${ns}/${name} were skipped since they are considered invalid environment variable names.`);
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? '';
      const s = await ctx.secret(ns, name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
      for (const k of new Set([...Object.keys(s.data ?? {}), ...Object.keys(s.stringData ?? {})])) {
        const key = prefix + k;
        if (!validEnvName.test(key)) invalid.push(key);
        else tmp.set(key, decodeSecret(s, k) ?? '');
      }
      if (invalid.length) ctx.warn?.('InvalidEnvironmentVariableNames', `Keys [${invalid.sort().join(', ')}] from the EnvFrom secret ${ns}/${name} were skipped since they are considered invalid environment variable names.`);
    }
  }
  const mapping = mappingFor(tmp, serviceEnv, base);
  for (const e of container.env ?? []) {
    const v = await envValue(e, container, ctx, ns, mapping);
    if (v !== undefined) tmp.set(e.name, v);
  }
  for (const [k, v] of serviceEnv) if (!tmp.has(k)) tmp.set(k, v);
  return tmp;
}

async function envValue(e: EnvVar, container: Container, ctx: EnvContext, ns: string, mapping: (n: string) => string): Promise<string | undefined> {
  if (!e.valueFrom) return expand(e.value ?? '', mapping);
  const f = e.valueFrom;
  if (f.fieldRef) return fieldRefValue(f.fieldRef.fieldPath, ctx);
  if (f.resourceFieldRef) return resourceFieldValue(container, f.resourceFieldRef.resource, f.resourceFieldRef.divisor, ctx);
  if (f.configMapKeyRef) {
    const { name = '', key, optional } = f.configMapKeyRef;
    const cm = await ctx.configMap(ns, name);
    if (!cm) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    const v = cm.data?.[key] ?? (cm.binaryData?.[key] !== undefined ? Buffer.from(cm.binaryData[key], 'base64').toString('utf8') : undefined);
    if (v === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
    }
    return v;
  }
  if (f.secretKeyRef) {
    const { name = '', key, optional } = f.secretKeyRef;
    const s = await ctx.secret(ns, name);
    if (!s) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    const v = decodeSecret(s, key);
    if (v === undefined) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
    }
    return v;
  }
  return '';
}

/** ExpandContainerCommandAndArgs: $(VAR) in command and args from the final environment. */
export function expandCommand(words: readonly string[] | undefined, env: ReadonlyMap<string, string>): string[] {
  const m = mappingFor(env);
  return (words ?? []).map((w) => expand(w, m));
}
