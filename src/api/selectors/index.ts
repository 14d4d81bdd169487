// Label and field selectors as Kubernetes parses, prints and matches them.
import type { KubeObject } from '../meta.ts';
import type { ResourceInfo } from '../resources.ts';
import { fieldsOf, matchesFields, type FieldSelector } from './fields.ts';
import { matches, type LabelSelector } from './labels.ts';

export {
  type LabelOperator,
  type LabelRequirement,
  type LabelSelector,
  LabelSelectorError,
  everything,
  nothing,
  isEverything,
  newRequirement,
  parseLabelSelector,
  parseLabelSelectorOrThrow,
  labelSelectorAsSelector,
  selectorFromSet,
  matches,
  selectorToString,
  requirementToString,
  requiresExactMatch,
  labelsToString,
  formatLabels,
  formatLabelSelector,
} from './labels.ts';
export {
  type FieldRequirement,
  type FieldSelector,
  FieldSelectorError,
  everyField,
  escapeFieldValue,
  unescapeFieldValue,
  parseFieldSelectorSyntax,
  parseFieldSelector,
  supportedFieldLabels,
  fieldsOf,
  matchesFields,
  fieldSelectorToString,
  requiresExactFieldMatch,
} from './fields.ts';

/** A list or watch filter: both selectors must hold (storage.SelectionPredicate.Matches). */
export function selects(r: ResourceInfo, sel: { labels?: LabelSelector; fields?: FieldSelector }, obj: KubeObject): boolean {
  if (sel.labels && !matches(sel.labels, obj.metadata?.labels)) return false;
  if (sel.fields && sel.fields.requirements.length && !matchesFields(sel.fields, fieldsOf(r, obj))) return false;
  return true;
}
