// Custom resources print as kube-apiserver's CRD table convertor prints them
// (apiextensions-apiserver/pkg/registry/customresource/tableconvertor): a Name column, then the
// CRD's additionalPrinterColumns, each cell the column's JSONPath evaluated on the object.
// MetalLB's columns come from its kubebuilder:printcolumn markers (api/v1beta1).
import { humanDuration } from './duration.ts';
import type { TableCell, TableColumnDefinition } from './types.ts';
import { column, fieldDoc, nameColumn } from './columns.ts';

/** A custom resource column, as a CRD's additionalPrinterColumns declares it. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'boolean' | 'integer' | 'number' | 'date';
  jsonPath: string;
  description?: string;
  format?: string;
  priority?: number;
}

/** additionalPrinterColumns of the served custom resources, by "<group>/<resource>". */
export const customResourceColumns: Readonly<Record<string, readonly PrinterColumn[]>> = {
  'metallb.io/ipaddresspools': [
    { name: 'Auto Assign', type: 'boolean', jsonPath: '.spec.autoAssign' },
    { name: 'Avoid Buggy IPs', type: 'boolean', jsonPath: '.spec.avoidBuggyIPs' },
    { name: 'Addresses', type: 'string', jsonPath: '.spec.addresses' },
  ],
  'metallb.io/l2advertisements': [
    { name: 'IPAddressPools', type: 'string', jsonPath: '.spec.ipAddressPools' },
    { name: 'IPAddressPool Selectors', type: 'string', jsonPath: '.spec.ipAddressPoolSelectors' },
    { name: 'Interfaces', type: 'string', jsonPath: '.spec.interfaces' },
    { name: 'Node Selectors', type: 'string', jsonPath: '.spec.nodeSelectors', priority: 10 },
  ],
};

/** A CRD without printer columns gets Age (apiextensions' defaulting). */
const defaultColumns: readonly PrinterColumn[] = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

export function customResourceColumnDefinitions(key: string): TableColumnDefinition[] {
  const cols = customResourceColumns[key] ?? defaultColumns;
  return [
    nameColumn(),
    ...cols.map((c) =>
      column(
        c.name,
        c.type,
        c.description ?? (c.jsonPath === '.metadata.creationTimestamp' ? fieldDoc('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'creationTimestamp') : ''),
        c.priority ?? 0,
        c.format ?? '',
      ),
    ),
  ];
}

/** The value at a simple JSONPath (".spec.addresses"), or undefined. */
function lookup(obj: unknown, path: string): unknown {
  let v = obj;
  for (const part of path.replace(/^\./, '').split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/** Go's json.Marshal: compact, map keys sorted, <, > and & escaped. */
function goJson(v: unknown): string {
  const sortKeys = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sortKeys);
    if (x && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x)
          .sort()
          .map((k) => [k, sortKeys((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sortKeys(v)).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

function cell(c: PrinterColumn, value: unknown, now: Date): TableCell {
  if (value === undefined || value === null) return null;
  if (c.type === 'string') {
    // JSONPath's PrintResults: lists and maps as JSON, anything else as its text.
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return goJson(value);
  }
  switch (c.type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date': {
      if (typeof value !== 'string') return null;
      const t = Date.parse(value);
      return Number.isNaN(t) ? '<invalid>' : humanDuration(now.getTime() - t);
    }
  }
  return null;
}

export function printCustomResource(key: string, obj: { metadata?: { name?: string } }, now: Date): TableCell[] {
  const cols = customResourceColumns[key] ?? defaultColumns;
  return [obj.metadata?.name ?? '', ...cols.map((c) => cell(c, lookup(obj, c.jsonPath), now))];
}
