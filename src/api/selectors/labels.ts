// Label selectors as k8s.io/apimachinery/pkg/labels parses, prints and matches them, and
// metav1.LabelSelectorAsSelector. The lexer and parser follow labels.Parse's grammar step by
// step, so that odd inputs fail (or pass) exactly as they do against kube-apiserver, with its
// messages.
import type { LabelSelector as LabelSelectorObject } from 'kubernetes-types/meta/v1.js';
import { badRequest } from '../errors.ts';
import { isQualifiedName, isValidLabelValue } from './validation.ts';

/** selection.Operator values, as Go spells them. */
export type LabelOperator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

const binaryOperators: readonly LabelOperator[] = ['in', 'notin', '=', '==', '!=', 'gt', 'lt'];
const unaryOperators: readonly LabelOperator[] = ['exists', '!'];
const validOperators: readonly LabelOperator[] = [...binaryOperators, ...unaryOperators];

/** One requirement: key, operator and values (sorted and unique when parsed from a string). */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: LabelOperator;
  readonly values: readonly string[];
}

/**
 * A parsed label selector: requirements ANDed, sorted by key. `nothing` marks the selector that
 * matches no object (what a nil metav1.LabelSelector converts to).
 */
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
  readonly nothing?: true;
}

/** A selector error with apimachinery's message (Error() of the Go error). */
export class LabelSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabelSelectorError';
  }
}

export const everything: LabelSelector = Object.freeze({ requirements: Object.freeze([]) });
export const nothing: LabelSelector = Object.freeze({ requirements: Object.freeze([]), nothing: true as const });

/** True for a selector that does not restrict anything (labels.Selector.Empty). */
export function isEverything(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

// ---- field errors, printed as field.Error.Error() prints them ----

/** Go's %q of a string (close enough: JSON escapes control characters a little differently). */
function quote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %#v of a []string: []string{"a", "b"}, []string{} or []string(nil). */
function goStrings(values: readonly string[] | null): string {
  if (values === null) return '[]string(nil)';
  return `[]string{${values.map(quote).join(', ')}}`;
}

/** A nil *field.Path prints as "<nil>". */
function fieldError(path: string | null, what: string, detail: string): string {
  return `${path ?? '<nil>'}: ${what}${detail ? `: ${detail}` : ''}`;
}

function invalid(path: string | null, badValue: string, detail: string): string {
  return fieldError(path, `Invalid value: ${badValue}`, detail);
}

/** utilerrors.NewAggregate(...).Error(): one message bare, several as [a, b], repeats dropped. */
function aggregate(msgs: readonly string[]): string {
  const unique = [...new Set(msgs)];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}

function validateLabelKey(key: string, path: string | null): string | undefined {
  const errs = isQualifiedName(key);
  return errs.length ? invalid(path, quote(key), errs.join('; ')) : undefined;
}

/** strconv.ParseInt(s, 10, 64). */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v >= -(2n ** 63n) && v < 2n ** 63n ? v : undefined;
}

/**
 * labels.NewRequirement: validates the key, the operator and its values. `values` null stands
 * for a Go nil slice (printed as []string(nil) in errors).
 */
export function newRequirement(key: string, operator: string, values: readonly string[] | null): LabelRequirement {
  const errs: string[] = [];
  const keyErr = validateLabelKey(key, 'key');
  if (keyErr) errs.push(keyErr);
  const vals = values ?? [];
  const op = operator as LabelOperator;
  switch (op) {
    case 'in':
    case 'notin':
      if (vals.length === 0) errs.push(invalid('values', goStrings(values), "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (vals.length !== 1) errs.push(invalid('values', goStrings(values), 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (vals.length !== 0) errs.push(invalid('values', goStrings(values), 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (vals.length !== 1) errs.push(invalid('values', goStrings(values), "for 'Gt', 'Lt' operators, exactly one value is required"));
      vals.forEach((v, i) => {
        if (parseInt64(v) === undefined) errs.push(invalid(`values[${i}]`, quote(v), "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
    default:
      errs.push(fieldError('operator', `Unsupported value: ${quote(operator)}`, `supported values: ${validOperators.map(quote).join(', ')}`));
  }
  vals.forEach((v, i) => {
    const verrs = isValidLabelValue(v);
    if (verrs.length) errs.push(invalid(`values[${i}][${key}]`, quote(v), verrs.join('; ')));
  });
  if (errs.length) throw new LabelSelectorError(aggregate(errs));
  return { key, operator: op, values: [...vals] };
}

// ---- the lexer ----

enum Tok {
  Error,
  EndOfString,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const string2token: ReadonlyMap<string, Tok> = new Map([
  [')', Tok.ClosedPar],
  [',', Tok.Comma],
  ['!', Tok.DoesNotExist],
  ['==', Tok.DoubleEquals],
  ['=', Tok.Equals],
  ['>', Tok.GreaterThan],
  ['in', Tok.In],
  ['<', Tok.LessThan],
  ['!=', Tok.NotEquals],
  ['notin', Tok.NotIn],
  ['(', Tok.OpenPar],
]);

interface Item {
  tok: Tok;
  lit: string;
}

function isWhitespace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\r' || ch === '\n';
}

function isSpecialSymbol(ch: string): boolean {
  return ch === '=' || ch === '!' || ch === '(' || ch === ')' || ch === ',' || ch === '>' || ch === '<';
}

function lex(s: string): Item[] {
  let pos = 0;
  // Go's lexer reads byte 0 at the end, so a NUL in the input ends it too.
  const read = (): string => (pos < s.length ? s[pos++] : '\0');
  const unread = (): void => {
    pos--;
  };
  const items: Item[] = [];
  for (;;) {
    let ch = read();
    while (isWhitespace(ch)) ch = read();
    let item: Item;
    if (ch === '\0') {
      item = { tok: Tok.EndOfString, lit: '' };
    } else if (isSpecialSymbol(ch)) {
      unread();
      let buffer = '';
      let last: Item | undefined;
      for (;;) {
        const c = read();
        if (c === '\0') break;
        if (!isSpecialSymbol(c)) {
          unread();
          break;
        }
        buffer += c;
        const t = string2token.get(buffer);
        if (t !== undefined) last = { tok: t, lit: buffer };
        else if (last) {
          unread();
          break;
        }
      }
      item = last ?? { tok: Tok.Error, lit: `error expected: keyword found '${buffer}'` };
    } else {
      unread();
      let buffer = '';
      for (;;) {
        const c = read();
        if (c === '\0') break;
        if (isSpecialSymbol(c) || isWhitespace(c)) {
          unread();
          break;
        }
        buffer += c;
      }
      const t = string2token.get(buffer);
      item = { tok: t ?? Tok.Identifier, lit: buffer };
    }
    items.push(item);
    if (item.tok === Tok.EndOfString) return items;
  }
}

// ---- the parser ----

/** In values, "in" and "notin" are plain identifiers ("x in (in)"). */
enum Ctx {
  KeyAndOperator,
  Values,
}

class Parser {
  private position = 0;
  constructor(private readonly items: Item[]) {}

  lookahead(ctx: Ctx): Item {
    const it = this.items[this.position];
    if (ctx === Ctx.Values && (it.tok === Tok.In || it.tok === Tok.NotIn)) return { tok: Tok.Identifier, lit: it.lit };
    return it;
  }

  consume(ctx: Ctx): Item {
    const it = this.lookahead(ctx);
    this.position++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead(Ctx.Values);
      switch (tok) {
        case Tok.Identifier:
        case Tok.DoesNotExist: {
          let r: LabelRequirement;
          try {
            r = this.parseRequirement();
          } catch (e) {
            if (e instanceof LabelSelectorError) throw new LabelSelectorError(`unable to parse requirement: ${e.message}`);
            throw e;
          }
          reqs.push(r);
          const next = this.consume(Ctx.Values);
          if (next.tok === Tok.EndOfString) return reqs;
          if (next.tok === Tok.Comma) {
            const after = this.lookahead(Ctx.Values);
            if (after.tok !== Tok.Identifier && after.tok !== Tok.DoesNotExist) {
              throw new LabelSelectorError(`found '${after.lit}', expected: identifier after ','`);
            }
            break;
          }
          throw new LabelSelectorError(`found '${next.lit}', expected: ',' or 'end of string'`);
        }
        case Tok.EndOfString:
          return reqs;
        default:
          throw new LabelSelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      }
    }
  }

  private parseRequirement(): LabelRequirement {
    const { key, operator } = this.parseKeyAndInferOperator();
    if (operator === 'exists' || operator === '!') return newRequirement(key, operator, []);
    const op = this.parseOperator();
    const values = op === 'in' || op === 'notin' ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, op, [...values].sort());
  }

  private parseKeyAndInferOperator(): { key: string; operator: LabelOperator | '' } {
    let operator: LabelOperator | '' = '';
    let it = this.consume(Ctx.Values);
    if (it.tok === Tok.DoesNotExist) {
      operator = '!';
      it = this.consume(Ctx.Values);
    }
    if (it.tok !== Tok.Identifier) throw new LabelSelectorError(`found '${it.lit}', expected: identifier`);
    // The parser's field path is nil, which field.Error prints as "<nil>".
    const keyErr = validateLabelKey(it.lit, null);
    if (keyErr) throw new LabelSelectorError(keyErr);
    const next = this.lookahead(Ctx.Values).tok;
    if ((next === Tok.EndOfString || next === Tok.Comma) && operator !== '!') operator = 'exists';
    return { key: it.lit, operator };
  }

  private parseOperator(): LabelOperator {
    const { tok, lit } = this.consume(Ctx.KeyAndOperator);
    switch (tok) {
      case Tok.In:
        return 'in';
      case Tok.Equals:
        return '=';
      case Tok.DoubleEquals:
        return '==';
      case Tok.GreaterThan:
        return 'gt';
      case Tok.LessThan:
        return 'lt';
      case Tok.NotIn:
        return 'notin';
      case Tok.NotEquals:
        return '!=';
      default:
        throw new LabelSelectorError(`found '${lit}', expected: ${binaryOperators.join(', ')}`);
    }
  }

  private parseValues(): Set<string> {
    let it = this.consume(Ctx.Values);
    if (it.tok !== Tok.OpenPar) throw new LabelSelectorError(`found '${it.lit}' expected: '('`);
    it = this.lookahead(Ctx.Values);
    switch (it.tok) {
      case Tok.Identifier:
      case Tok.Comma: {
        const s = this.parseIdentifiersList();
        // apimachinery reports the literal it looked at before the list, not the one it found.
        if (this.consume(Ctx.Values).tok !== Tok.ClosedPar) throw new LabelSelectorError(`found '${it.lit}', expected: ')'`);
        return s;
      }
      case Tok.ClosedPar:
        this.consume(Ctx.Values);
        return new Set(['']);
      default:
        throw new LabelSelectorError(`found '${it.lit}', expected: ',', ')' or identifier`);
    }
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const it = this.consume(Ctx.Values);
      switch (it.tok) {
        case Tok.Identifier: {
          s.add(it.lit);
          const next = this.lookahead(Ctx.Values);
          if (next.tok === Tok.Comma) continue;
          if (next.tok === Tok.ClosedPar) return s;
          throw new LabelSelectorError(`found '${next.lit}', expected: ',' or ')'`);
        }
        case Tok.Comma: {
          // "(," and ",," and ",)" all stand for an empty value.
          if (s.size === 0) s.add('');
          const next = this.lookahead(Ctx.Values).tok;
          if (next === Tok.ClosedPar) {
            s.add('');
            return s;
          }
          if (next === Tok.Comma) s.add('');
          continue;
        }
        default:
          throw new LabelSelectorError(`found '${it.lit}', expected: ',', or identifier`);
      }
    }
  }

  private parseExactValue(): Set<string> {
    const next = this.lookahead(Ctx.Values).tok;
    if (next === Tok.EndOfString || next === Tok.Comma) return new Set(['']);
    const it = this.consume(Ctx.Values);
    if (it.tok === Tok.Identifier) return new Set([it.lit]);
    throw new LabelSelectorError(`found '${it.lit}', expected: identifier`);
  }
}

/** Go's sort of requirements by key (insertion sort for short lists: stable). */
function sortByKey(reqs: LabelRequirement[]): LabelRequirement[] {
  return reqs.map((r, i) => ({ r, i })).sort((a, b) => (a.r.key < b.r.key ? -1 : a.r.key > b.r.key ? 1 : a.i - b.i)).map((x) => x.r);
}

/** labels.Parse, throwing LabelSelectorError with apimachinery's message. */
export function parseLabelSelectorOrThrow(s: string): LabelSelector {
  const reqs = new Parser(lex(s)).parse();
  return reqs.length ? { requirements: sortByKey(reqs) } : everything;
}

/**
 * Parses a `labelSelector` query parameter. Throws the ApiError kube-apiserver answers with:
 * 400 BadRequest and labels.Parse's message (e.g. "unable to parse requirement: found '',
 * expected: in, notin, =, ==, !=, gt, lt").
 */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    return parseLabelSelectorOrThrow(s);
  } catch (e) {
    if (e instanceof LabelSelectorError) throw badRequest(e.message);
    throw e;
  }
}

/**
 * metav1.LabelSelectorAsSelector: null/undefined selects nothing, an empty selector everything.
 * Throws LabelSelectorError (e.g. `"Foo" is not a valid label selector operator`).
 */
export function labelSelectorAsSelector(ls: LabelSelectorObject | null | undefined): LabelSelector {
  if (!ls) return nothing;
  const labels = ls.matchLabels ?? {};
  const exprs = ls.matchExpressions ?? [];
  const keys = Object.keys(labels);
  if (keys.length + exprs.length === 0) return everything;
  const reqs: LabelRequirement[] = [];
  // Go ranges over the map in random order; sorted keys make the first error repeatable.
  for (const k of keys.sort()) reqs.push(newRequirement(k, '=', [labels[k]]));
  for (const e of exprs) {
    const op = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' }[e.operator];
    if (!op) throw new LabelSelectorError(`${quote(e.operator)} is not a valid label selector operator`);
    reqs.push(newRequirement(e.key, op, e.values && e.values.length ? e.values : null));
  }
  return { requirements: sortByKey(reqs) };
}

/** labels.SelectorFromSet: key=value for each label (not validated, as in Go). */
export function selectorFromSet(set: Readonly<Record<string, string>> | null | undefined): LabelSelector {
  const keys = Object.keys(set ?? {});
  if (!keys.length) return everything;
  return { requirements: sortByKey(keys.map((k) => ({ key: k, operator: '=' as const, values: [set![k]] }))) };
}

function requirementMatches(r: LabelRequirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return value !== undefined && r.values.includes(value);
    case 'notin':
    case '!=':
      return value === undefined || !r.values.includes(value);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (value === undefined || r.values.length !== 1) return false;
      const lv = parseInt64(value);
      const rv = parseInt64(r.values[0]);
      if (lv === undefined || rv === undefined) return false;
      return r.operator === 'gt' ? lv > rv : lv < rv;
    }
  }
}

/** True when the labels satisfy every requirement (labels.Selector.Matches). */
export function matches(sel: LabelSelector, labels: Readonly<Record<string, string>> | null | undefined): boolean {
  if (sel.nothing) return false;
  const ls = labels ?? {};
  return sel.requirements.every((r) => requirementMatches(r, ls));
}

/** Requirement.String(): "k=v", "k in (a,b)", "!k", "k>5" ... (values printed sorted). */
export function requirementToString(r: LabelRequirement): string {
  if (r.operator === '!') return `!${r.key}`;
  if (r.operator === 'exists') return r.key;
  const ops: Record<Exclude<LabelOperator, '!' | 'exists'>, string> = { '=': '=', '==': '==', '!=': '!=', in: ' in ', notin: ' notin ', gt: '>', lt: '<' };
  const vals = r.values.length === 1 ? r.values[0] : [...r.values].sort().join(',');
  return r.operator === 'in' || r.operator === 'notin' ? `${r.key}${ops[r.operator]}(${vals})` : `${r.key}${ops[r.operator]}${vals}`;
}

/**
 * The canonical string Kubernetes prints for a selector (Scale status.selector, describe):
 * requirements sorted by key, joined with ",". Everything and Nothing both print "".
 */
export function selectorToString(sel: LabelSelector): string {
  return sel.requirements.map(requirementToString).join(',');
}

/**
 * The value a selector pins a label to, if it does (labels.Selector.RequiresExactMatch): for
 * indexing by label. Only the first requirement on the key counts, as in Go.
 */
export function requiresExactMatch(sel: LabelSelector, key: string): string | undefined {
  const r = sel.requirements.find((x) => x.key === key);
  if (!r) return undefined;
  if ((r.operator === '=' || r.operator === '==' || r.operator === 'in') && r.values.length === 1) return r.values[0];
  return undefined;
}

/** labels.Set.String(): "k=v" for each label, sorted by key, joined with ",". */
export function labelsToString(set: Readonly<Record<string, string>> | null | undefined): string {
  const s = set ?? {};
  return Object.keys(s)
    .sort()
    .map((k) => `${k}=${s[k]}`)
    .join(',');
}

/** labels.FormatLabels: labelsToString, or "<none>" (service selectors in describe and tables). */
export function formatLabels(set: Readonly<Record<string, string>> | null | undefined): string {
  return labelsToString(set) || '<none>';
}

/** metav1.FormatLabelSelector: the selector's string, "<none>" when empty, "<error>" when invalid. */
export function formatLabelSelector(ls: LabelSelectorObject | null | undefined): string {
  let sel: LabelSelector;
  try {
    sel = labelSelectorAsSelector(ls);
  } catch (e) {
    if (e instanceof LabelSelectorError) return '<error>';
    throw e;
  }
  return selectorToString(sel) || '<none>';
}
