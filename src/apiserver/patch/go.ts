// Go's words for JSON values. kube-apiserver's patch errors quote Go: encoding/json's syntax
// and type errors ("invalid character 'x' looking for beginning of value", "json: cannot
// unmarshal array into Go value of type map[string]interface {}") and values printed with %v
// ("map[name:a port:80]"). These helpers produce the same text from JavaScript values.

/** A JSON value as JSON.parse returns it. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Sets obj[key] as an own property, also for "__proto__" (a plain assignment would set the prototype). */
export function put(obj: JsonObject, key: string, value: Json): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export function hasKey(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

/** A syntax error in a JSON document, worded as encoding/json's SyntaxError. */
export class GoJsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoJsonSyntaxError';
  }
}

/** Go's strconv.Quote of one character, in single quotes, as the JSON scanner prints it. */
function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return "'\"'";
  return `'${goQuote(c).slice(1, -1)}'`;
}

/** Go's %q of a string (strconv.Quote): escapes quotes, backslashes and non-printable characters. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0x80 && cp < 0xa0) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/**
 * Parses JSON text, failing with encoding/json's syntax error messages. Go checks the whole
 * document before decoding, so a syntax error anywhere wins over a type error.
 */
export function parseGoJson(text: string): Json {
  new Scanner(text).check();
  return JSON.parse(text) as Json;
}

class Scanner {
  #s: string;
  #i = 0;

  constructor(s: string) {
    this.#s = s;
  }

  check(): void {
    this.#space();
    this.#value();
    this.#space();
    if (this.#i < this.#s.length) this.#fail('after top-level value');
  }

  #fail(context: string): never {
    if (this.#i >= this.#s.length) throw new GoJsonSyntaxError('unexpected end of JSON input');
    // Go scans bytes: a non-ASCII character is reported by its first UTF-8 byte.
    const ch = this.#s[this.#i] ?? '';
    const code = ch.charCodeAt(0);
    const shown = code < 0x80 ? ch : String.fromCharCode(Buffer.from(ch, 'utf8')[0] ?? code);
    throw new GoJsonSyntaxError(`invalid character ${quoteChar(shown)} ${context}`);
  }

  #peek(): string {
    return this.#s[this.#i] ?? '';
  }

  #space(): void {
    while (this.#i < this.#s.length && ' \t\r\n'.includes(this.#peek())) this.#i++;
  }

  #value(): void {
    const c = this.#peek();
    if (c === '{') return this.#object();
    if (c === '[') return this.#array();
    if (c === '"') return this.#string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.#number();
    if (c === 't') return this.#literal('true');
    if (c === 'f') return this.#literal('false');
    if (c === 'n') return this.#literal('null');
    this.#fail('looking for beginning of value');
  }

  #object(): void {
    this.#i++;
    this.#space();
    if (this.#peek() === '}') {
      this.#i++;
      return;
    }
    for (;;) {
      if (this.#peek() !== '"') this.#fail('looking for beginning of object key string');
      this.#string();
      this.#space();
      if (this.#peek() !== ':') this.#fail('after object key');
      this.#i++;
      this.#space();
      this.#value();
      this.#space();
      const c = this.#peek();
      if (c === '}') {
        this.#i++;
        return;
      }
      if (c !== ',') this.#fail('after object key:value pair');
      this.#i++;
      this.#space();
    }
  }

  #array(): void {
    this.#i++;
    this.#space();
    if (this.#peek() === ']') {
      this.#i++;
      return;
    }
    for (;;) {
      this.#value();
      this.#space();
      const c = this.#peek();
      if (c === ']') {
        this.#i++;
        return;
      }
      if (c !== ',') this.#fail('after array element');
      this.#i++;
      this.#space();
    }
  }

  #string(): void {
    this.#i++;
    for (;;) {
      if (this.#i >= this.#s.length) this.#fail('in string literal');
      const c = this.#peek();
      if (c === '"') {
        this.#i++;
        return;
      }
      if (c === '\\') {
        this.#i++;
        const e = this.#peek();
        if (e === 'u') {
          this.#i++;
          for (let k = 0; k < 4; k++) {
            if (!/[0-9a-fA-F]/.test(this.#peek())) this.#fail('in \\u hexadecimal character escape');
            this.#i++;
          }
          continue;
        }
        if (!'"\\/bfnrt'.includes(e) || e === '') this.#fail('in string escape code');
        this.#i++;
        continue;
      }
      if (c.charCodeAt(0) < 0x20) this.#fail('in string literal');
      this.#i++;
    }
  }

  #digits(): boolean {
    const start = this.#i;
    while (this.#peek() >= '0' && this.#peek() <= '9') this.#i++;
    return this.#i > start;
  }

  #number(): void {
    if (this.#peek() === '-') {
      this.#i++;
      const c = this.#peek();
      if (!(c >= '0' && c <= '9')) this.#fail('in numeric literal');
    }
    if (this.#peek() === '0') this.#i++;
    else this.#digits();
    if (this.#peek() === '.') {
      this.#i++;
      if (!this.#digits()) this.#fail('after decimal point in numeric literal');
    }
    if (this.#peek() === 'e' || this.#peek() === 'E') {
      this.#i++;
      if (this.#peek() === '+' || this.#peek() === '-') this.#i++;
      if (!this.#digits()) this.#fail('in exponent of numeric literal');
    }
  }

  #literal(word: string): void {
    for (let k = 0; k < word.length; k++) {
      if (this.#peek() !== word[k]) this.#fail(`in literal ${word} (expecting ${quoteChar(word[k] ?? '')})`);
      this.#i++;
    }
  }
}

/** The word encoding/json uses for a JSON value's kind in UnmarshalTypeError. */
export function jsonKind(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v; // "string" | "number"
}

/** The Go type (reflect.Type.String()) a decoded JSON value has: map[string]interface {}, int64, ... */
export function goTypeName(v: Json | undefined): string {
  if (v === undefined || v === null) return '%!s(<nil>)';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  return 'string';
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64), as %v prints a float64. */
function goFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const exp = Math.floor(Math.log10(Math.abs(n)));
  // Shortest %g uses exponent form below 1e-4 and from 1e6 up (fmt.Println(1e6) prints 1e+06).
  if (exp < -4 || exp >= 6) {
    const [mant = '', e = '0'] = n.toExponential().split('e');
    const ev = Number(e);
    return `${mant}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`;
  }
  return String(n);
}

/** Go's %v of a decoded JSON value (maps print with sorted keys, as fmt does). */
export function goFormat(v: Json | undefined): string {
  if (v === undefined || v === null) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? String(v) : goFloat(v);
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  const keys = Object.keys(v).sort();
  return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
}

/** Deep equality of JSON values (objects compare by keys, not key order). */
export function jsonEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (typeof a === 'object') {
    if (typeof b !== 'object' || Array.isArray(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => hasKey(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

export function clone<T extends Json | undefined>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

const goEscaped = /[<>&\u2028\u2029]/;

/** JSON as Go's encoder writes it: map keys sorted, <, > and & escaped. */
export function goJson(v: Json): string {
  if (v === null || typeof v !== 'object') {
    const s = JSON.stringify(v);
    // Most values need no escaping; skip the five replaces for them (field paths call this often).
    if (!goEscaped.test(s)) return s;
    return s
      .replace(/</g, '\\u003c')
      .replace(/>/g, '\\u003e')
      .replace(/&/g, '\\u0026')
      .replace(/\u2028/g, '\\u2028')
      .replace(/\u2029/g, '\\u2029');
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${goJson(k)}:${goJson(v[k] ?? null)}`)
    .join(',')}}`;
}

