// toTable: the meta.k8s.io Table kube-apiserver returns for `Accept: ...;as=Table`, for a list
// or a single object (a one-row table), with rows[].object per includeObject: the object's
// full metadata as PartialObjectMetadata (the default), the object itself, or null.
import type { ListMeta } from 'kubernetes-types/meta/v1.js';
import { badRequest, isPlainObject, type KubeObject, type ResourceInfo } from '../index.ts';
import { columnDefinitions } from './columns.ts';
import { customResourceColumnDefinitions, printCustomResource } from './crd.ts';
import { rowPrinters } from './rows.ts';
import type { Table, TableColumnDefinition, TableRow } from './types.ts';

export interface TableOptions {
  /** rows[].object: "Metadata" (default), "Object" or "None" (?includeObject=, an IncludeObject). */
  includeObject?: string;
  /** Leave out columnDefinitions (TableOptions.noHeaders; watch events after the first). */
  noHeaders?: boolean;
  /** The time ages are computed at; defaults to now. */
  now?: Date;
  /** The list's metadata (resourceVersion, continue, remainingItemCount). Without it, a
   * one-object table (a GET) carries that object's resourceVersion, as kube-apiserver's does. */
  listMeta?: ListMeta;
  /** meta.k8s.io version asked for in the Accept header: "v1" (default) or "v1beta1". */
  tableVersion?: 'v1' | 'v1beta1';
}

function resourceKey(r: ResourceInfo): string {
  return `${r.group}/${r.resource}`;
}

function isBuiltIn(r: ResourceInfo): boolean {
  return r.group === '' || r.group.endsWith('.k8s.io') || !r.group.includes('.');
}

/** The column definitions of a resource's table (all priorities: the server always prints wide). */
export function tableColumns(resource: ResourceInfo): TableColumnDefinition[] {
  const key = resourceKey(resource);
  const builtIn = columnDefinitions[key];
  if (builtIn) return builtIn();
  if (!isBuiltIn(resource)) return customResourceColumnDefinitions(key);
  throw new Error(`no table printer for ${key}`);
}

/**
 * A meta.k8s.io/v1 Table of objects of one resource, as kube-apiserver prints them.
 * Throws a 400 ApiError for an unknown includeObject value, as kube-apiserver answers.
 */
export function toTable(resource: ResourceInfo, objects: readonly KubeObject[], opts: TableOptions = {}): Table {
  const now = opts.now ?? new Date();
  const include = opts.includeObject ?? 'Metadata';
  if (include !== 'Metadata' && include !== 'Object' && include !== 'None' && include !== '') {
    throw badRequest(`unrecognized includeObject value: ${JSON.stringify(include)}`);
  }
  const key = resourceKey(resource);
  const printer = rowPrinters[key];
  const groupVersion = `meta.k8s.io/${opts.tableVersion ?? 'v1'}`;
  const apiVersion = resource.group ? `${resource.group}/${resource.version}` : resource.version;
  const rows: TableRow[] = objects.map((obj) => {
    const printed = printer ? printer(obj, now) : { cells: printCustomResource(key, obj, now) };
    const row: TableRow = { cells: printed.cells, object: null };
    if (printed.conditions) row.conditions = printed.conditions;
    if (include === 'Object') {
      row.object = { ...obj, apiVersion: obj.apiVersion ?? apiVersion, kind: obj.kind ?? resource.kind };
    } else if (include !== 'None') {
      row.object = { kind: 'PartialObjectMetadata', apiVersion: groupVersion, metadata: isPlainObject(obj.metadata) ? obj.metadata : {} };
    }
    return row;
  });
  const lm: ListMeta = opts.listMeta ?? (objects.length === 1 ? { resourceVersion: objects[0].metadata?.resourceVersion } : {});
  const metadata: ListMeta = {
    ...(lm.resourceVersion ? { resourceVersion: lm.resourceVersion } : {}),
    ...(lm.continue ? { continue: lm.continue } : {}),
    ...(lm.remainingItemCount !== undefined ? { remainingItemCount: lm.remainingItemCount } : {}),
  };
  return {
    kind: 'Table',
    apiVersion: groupVersion,
    metadata,
    columnDefinitions: opts.noHeaders ? [] : tableColumns(resource),
    rows,
  };
}
