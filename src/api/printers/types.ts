// meta.k8s.io/v1 Table, the server-side printing format kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` (k8s.io/apimachinery/pkg/apis/meta/v1
// types.go: Table, TableColumnDefinition, TableRow, TableRowCondition, PartialObjectMetadata).
import type { ListMeta, ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { KubeObject } from '../index.ts';

export interface TableColumnDefinition {
  /** Human readable name; kubectl prints it upper-cased ("Port(s)" → "PORT(S)"). */
  name: string;
  /** OpenAPI type of the cells: string, integer, number, boolean, date. */
  type: string;
  /** "name" marks the column kubectl prefixes with "kind/" when several kinds print. */
  format: string;
  description: string;
  /** 0 prints by default; higher only with `-o wide`. */
  priority: number;
}

export interface TableRowCondition {
  type: 'Completed';
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
}

export type TableCell = string | number | boolean | null;

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: string;
  metadata: ObjectMeta;
}

export interface TableRow {
  cells: TableCell[];
  conditions?: TableRowCondition[];
  /** Per includeObject: PartialObjectMetadata (default), the object itself, or null (None). */
  object: PartialObjectMetadata | KubeObject | null;
}

export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: ListMeta;
  /** Empty when the request asked for no headers (e.g. watch events after the first). */
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';
