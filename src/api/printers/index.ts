// Server-side printing: meta.k8s.io/v1 Tables with kube-apiserver's columns and cells.
export { toTable, tableColumns, type TableOptions } from './table.ts';
export { humanDuration, translateTimestampSince } from './duration.ts';
export type { Table, TableColumnDefinition, TableRow, TableRowCondition, TableCell, PartialObjectMetadata, IncludeObject } from './types.ts';
