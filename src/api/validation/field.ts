// Small helpers over FieldError: Go-syntax rendering of the values kube-apiserver prints with
// %#v (structs, maps, nil slices), which errors.ts does not know how to print.
import { fieldErrors, omitValue, type FieldError, type FieldErrorType } from '../index.ts';

export type { FieldError };
export const fe = fieldErrors;

/** Appends the errors of a string-list check at one path as Invalid errors. */
export function invalidEach(field: string, value: unknown, msgs: readonly string[]): FieldError[] {
  return msgs.map((m) => fieldErrors.invalid(field, value, m));
}

/**
 * A field error whose value is printed as given (Go's %#v of a struct, map or nil slice).
 * The Status cause carries the same text kube-apiserver would send.
 */
export function goValueError(type: FieldErrorType, field: string, goText: string, detail = ''): FieldError {
  return { type, field, badValue: omitValue, detail: detail ? `${goText}: ${detail}` : goText };
}

/** Go's %q for the ASCII text these APIs carry. */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** %#v of a []T of strings: []string{"a", "b"}, or []string(nil) when absent. */
export function goStringSlice(values: readonly string[] | undefined | null, elem = 'string'): string {
  if (values === undefined || values === null) return `[]${elem}(nil)`;
  return `[]${elem}{${values.map(goQuote).join(', ')}}`;
}

/** %#v of a map[string]string, keys sorted as fmt prints them. */
export function goStringMap(m: Readonly<Record<string, string>> | undefined | null): string {
  if (m === undefined || m === null) return 'map[string]string(nil)';
  const keys = Object.keys(m).sort();
  return `map[string]string{${keys.map((k) => `${goQuote(k)}:${goQuote(m[k] ?? '')}`).join(', ')}}`;
}

/** A value that Go would hold in a pointer: nil prints as "null" (a quoted string). */
export function goPtr<T>(v: T | undefined | null): T | string {
  return v === undefined || v === null ? 'null' : v;
}

/** Field path helpers: child, index and key as field.Path prints them. */
export const path = {
  child: (base: string, ...names: string[]): string => [base, ...names].filter((s) => s !== '').join('.'),
  index: (base: string, i: number): string => `${base}[${i}]`,
  key: (base: string, k: string): string => `${base}[${k}]`,
};
