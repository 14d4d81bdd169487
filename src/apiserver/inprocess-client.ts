// A Client that calls the registry directly: the in-process transport of DESIGN.md rule 1.
// Same semantics as HTTPS (defaults, validation, conflicts, watch resourceVersions, errors),
// without serialization. Objects from lists and watches are the cache's frozen copies: treat
// them as read-only, as client-go's informer objects.
import { badRequest, isPlainObject, resourceApiVersion, type AnyObject, type KubeObject, type ResourceInfo } from '../api/index.ts';
import type {
  Client,
  DeleteOptions,
  ListOptions,
  ObjectList,
  ObjectSubresource,
  PatchOptions,
  PatchType,
  WatchEvent,
  WatchHandle,
  WatchOptions,
  WriteOptions,
} from '../client/index.ts';
import type { Registry } from './registry/registry.ts';
import type { ResourceStorage } from './registry/storage.ts';
import type { PatchApplier } from './http/resources.ts';
import { scaleResource } from './subresources.ts';
import { toApiError } from './http/respond.ts';

export type SubresourceCreator = (storage: ResourceStorage, namespace: string | undefined, name: string, body: AnyObject, user: string) => Promise<AnyObject>;

export interface InProcessClientOptions {
  registry: Registry;
  patch: PatchApplier;
  /** POST subresources (pods/binding ...), keyed "<resource>/<subresource>". */
  subresourceCreators?: Map<string, SubresourceCreator>;
  /** Scale subresource reads and writes, keyed by resource. */
  scale?: {
    get(storage: ResourceStorage, namespace: string | undefined, name: string): Promise<AnyObject>;
    update(storage: ResourceStorage, namespace: string | undefined, name: string, scale: AnyObject, user: string): Promise<AnyObject>;
  };
  /** The user the writes are attributed to (e.g. "system:kube-controller-manager"). */
  user: string;
  /** The default field manager (kube derives it from the user agent). */
  fieldManager: string;
}

export class InProcessClient implements Client {
  readonly #o: InProcessClientOptions;

  constructor(opts: InProcessClientOptions) {
    this.#o = opts;
  }

  /** A client for another component, attributed to another user and field manager. */
  as(user: string, fieldManager: string): InProcessClient {
    return new InProcessClient({ ...this.#o, user, fieldManager });
  }

  #storage(r: ResourceInfo): ResourceStorage {
    return this.#o.registry.storage(r);
  }

  async get<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string): Promise<T> {
    return (await this.#storage(r).get(namespace, name)) as unknown as T;
  }

  async list<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const res = await this.#storage(r).list(namespace, opts);
    const metadata: ObjectList<T>['metadata'] = { resourceVersion: res.resourceVersion };
    if (res.continue) metadata.continue = res.continue;
    if (res.remainingItemCount !== undefined) metadata.remainingItemCount = res.remainingItemCount;
    return { apiVersion: resourceApiVersion(r), kind: r.listKind, metadata, items: res.items.map((i) => i.obj as unknown as T) };
  }

  watch<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): WatchHandle {
    let resolveDone!: () => void;
    let rejectDone!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolveDone = res;
      rejectDone = rej;
    });
    let stopFn: (() => void) | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: unknown) => {
      if (timer) clearTimeout(timer);
      if (err) rejectDone(err);
      else resolveDone();
    };
    this.#storage(r)
      .watch(
        namespace,
        {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          resourceVersion: opts.resourceVersion,
          allowWatchBookmarks: opts.allowWatchBookmarks,
        },
        {
          event: (e) => onEvent({ type: e.type, object: e.obj as unknown as T }),
          bookmark: (rv) => onEvent({ type: 'BOOKMARK', object: { apiVersion: resourceApiVersion(r), kind: r.kind, metadata: { resourceVersion: String(rv) } } as unknown as T }),
          end: (err) => finish(err),
        },
      )
      .then((stop) => {
        if (stopped) stop();
        else stopFn = stop;
        if (opts.timeoutSeconds && opts.timeoutSeconds > 0) {
          timer = setTimeout(() => stopFn?.(), opts.timeoutSeconds * 1000);
          timer.unref();
        }
      })
      .catch((e: unknown) => {
        // Errors at the start of a watch reach the caller as HTTPS would deliver them: an ERROR event, then the end.
        const err = toApiError(e);
        onEvent({ type: 'ERROR', object: err.status as unknown as T });
        finish(err);
      });
    return {
      stop: () => {
        stopped = true;
        stopFn?.();
        finish();
      },
      done,
    };
  }

  async create<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, obj: T, opts: WriteOptions = {}): Promise<T> {
    const copy = structuredClone(obj) as unknown as AnyObject;
    checkKind(r, copy);
    return (await this.#storage(r).create(namespace ?? copy.metadata?.namespace, copy, this.#write(opts))) as unknown as T;
  }

  async update<T extends KubeObject>(r: ResourceInfo, obj: T, opts: WriteOptions = {}, subresource?: ObjectSubresource): Promise<T> {
    const copy = structuredClone(obj) as unknown as AnyObject;
    const m = copy.metadata ?? {};
    if (subresource === 'scale') {
      if (!this.#o.scale) throw badRequest('scale is not served');
      return (await this.#o.scale.update(this.#storage(r), m.namespace, m.name ?? '', copy, this.#o.user)) as unknown as T;
    }
    checkKind(r, copy);
    const res = await this.#storage(r).update(m.namespace, m.name ?? '', copy, this.#write(opts), subresource);
    return res.obj as unknown as T;
  }

  async patch<T extends KubeObject>(
    r: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    opts: PatchOptions = {},
    subresource?: ObjectSubresource,
  ): Promise<T> {
    const w = this.#write(opts);
    const body = typeof patch === 'string' ? patch : JSON.stringify(patch);
    const req = () => ({
      namespace,
      name,
      fieldManager: w.fieldManager,
      force: !!opts.force,
      fieldValidation: opts.fieldValidation ?? 'Strict',
      subresource,
      now: new Date(),
    });
    if (subresource === 'scale') {
      if (!this.#o.scale) throw badRequest('scale is not served');
      const cur = await this.#o.scale.get(this.#storage(r), namespace, name);
      const next = this.#o.patch(scaleResource, type, cur, body, req()).object;
      return (await this.#o.scale.update(this.#storage(r), namespace, name, next, this.#o.user)) as unknown as T;
    }
    const res = await this.#storage(r).patch(namespace, name, (live) => this.#o.patch(r, type, live, body, req()).object, w, subresource, type === 'apply');
    return res.obj as unknown as T;
  }

  async delete(r: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<KubeObject> {
    const res = await this.#storage(r).delete(namespace, name, { ...opts, user: this.#o.user });
    return res.obj;
  }

  async createSubresource<T extends KubeObject>(r: ResourceInfo, namespace: string | undefined, name: string, subresource: string, body: KubeObject): Promise<T> {
    const c = this.#o.subresourceCreators?.get(`${r.resource}/${subresource}`);
    if (!c) throw badRequest(`${r.resource}/${subresource} is not served`);
    if (!isPlainObject(body)) throw badRequest('the body is not an object');
    return (await c(this.#storage(r), namespace, name, structuredClone(body), this.#o.user)) as unknown as T;
  }

  #write(opts: WriteOptions): { dryRun: boolean; fieldManager: string; user: string } {
    return { dryRun: !!opts.dryRun, fieldManager: opts.fieldManager ?? this.#o.fieldManager, user: this.#o.user };
  }
}

function checkKind(r: ResourceInfo, obj: AnyObject): void {
  if (obj.kind !== undefined && obj.kind !== r.kind) throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${r.kind})`);
}
