// Label and selector text as apimachinery prints it: labels.FormatLabels,
// metav1.LabelSelectorAsSelector(...).String() and metav1.FormatLabelSelector.
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';

/** labels.FormatLabels: sorted "k=v" joined by ",", or "<none>". */
export function formatLabels(labels: Record<string, string> | undefined | null): string {
  const keys = Object.keys(labels ?? {}).sort();
  if (keys.length === 0) return '<none>';
  return keys.map((k) => `${k}=${labels![k]}`).join(',');
}

/**
 * The selector's String(): requirements sorted by key ("app=x,env in (a,b),!gone").
 * undefined for a selector LabelSelectorAsSelector rejects.
 */
export function labelSelectorString(selector: LabelSelector | undefined | null): string | undefined {
  if (!selector) return '';
  const reqs: [string, string][] = [];
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) reqs.push([k, `${k}=${v}`]);
  for (const e of selector.matchExpressions ?? []) {
    const values = [...new Set(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) return undefined;
        reqs.push([e.key, `${e.key} ${e.operator === 'In' ? 'in' : 'notin'} (${values.join(',')})`]);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length !== 0) return undefined;
        reqs.push([e.key, e.operator === 'Exists' ? e.key : `!${e.key}`]);
        break;
      default:
        return undefined;
    }
  }
  reqs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return reqs.map((r) => r[1]).join(',');
}

/** metav1.FormatLabelSelector: the selector, "<none>" when empty, "<error>" when invalid. */
export function formatLabelSelector(selector: LabelSelector | undefined | null): string {
  const s = labelSelectorString(selector);
  if (s === undefined) return '<error>';
  return s === '' ? '<none>' : s;
}
