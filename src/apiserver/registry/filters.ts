// Turns a request's labelSelector and fieldSelector into a predicate over objects
// (storage.SelectionPredicate), with kube-apiserver's 400 messages for bad selectors.
import type { AnyObject, ResourceInfo } from '../../api/index.ts';
import { isEverything, parseFieldSelector, parseLabelSelector, selects } from '../../api/selectors/index.ts';

export type Matcher = (obj: AnyObject) => boolean;

/** Undefined when the selectors select everything (the fast path). */
export function buildMatcher(r: ResourceInfo, labelSelector: string | undefined, fieldSelector: string | undefined): Matcher | undefined {
  const labels = labelSelector ? parseLabelSelector(labelSelector) : undefined;
  const fields = fieldSelector ? parseFieldSelector(r, fieldSelector) : undefined;
  const sel = {
    labels: labels && !isEverything(labels) ? labels : undefined,
    fields: fields && fields.requirements.length ? fields : undefined,
  };
  if (!sel.labels && !sel.fields) return undefined;
  return (obj) => selects(r, sel, obj);
}
