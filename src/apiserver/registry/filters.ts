// Turns a request's labelSelector and fieldSelector into a predicate over objects.
// PROVISIONAL: equality-only parsing until src/api/selectors lands; replaced there.
import { badRequest, type AnyObject, type ResourceInfo } from '../../api/index.ts';

export type Matcher = (obj: AnyObject) => boolean;

export function buildMatcher(_r: ResourceInfo, labelSelector: string | undefined, fieldSelector: string | undefined): Matcher | undefined {
  const preds: Matcher[] = [];
  for (const term of (labelSelector ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m) {
      const [, k, op, v] = m as unknown as [string, string, string, string];
      preds.push((o) => ((o.metadata?.labels?.[k] ?? undefined) === v) === (op !== '!='));
    } else if (term.startsWith('!')) preds.push((o) => o.metadata?.labels?.[term.slice(1)] === undefined);
    else preds.push((o) => o.metadata?.labels?.[term] !== undefined);
  }
  for (const term of (fieldSelector ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${fieldSelector}'; can't understand '${term}'`);
    const [, k, op, v] = m as unknown as [string, string, string, string];
    const get = (o: AnyObject): string => {
      if (k === 'metadata.name') return o.metadata?.name ?? '';
      if (k === 'metadata.namespace') return o.metadata?.namespace ?? '';
      let cur: unknown = o;
      for (const p of k.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
      return cur === undefined || cur === null ? '' : String(cur as string);
    };
    preds.push((o) => (get(o) === v) === (op !== '!='));
  }
  if (preds.length === 0) return undefined;
  return (o) => preds.every((p) => p(o));
}

/** The value of metadata.name a field selector pins, if any (lets a watch of one object stay cheap). */
export function nameFromFieldSelector(fieldSelector: string | undefined): string | undefined {
  const m = /(?:^|,)\s*metadata\.name\s*==?\s*([^,]+)/.exec(fieldSelector ?? '');
  return m?.[1]?.trim();
}
