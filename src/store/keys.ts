// Key order and prefix ranges shared by the backends. etcd orders keys by their bytes and
// SQLite's BINARY collation compares TEXT as UTF-8 bytes, so every backend orders keys by
// their UTF-8 bytes (the same as code point order). Prefixes are raw string prefixes: "/a/b"
// also matches "/a/bc/x"; callers that mean a directory pass a trailing slash ("/a/b/").

/** Compares two keys in UTF-8 byte order (JavaScript's `<` is UTF-16 order, which differs). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 order matches code point order except that surrogates (code points above U+FFFF)
    // sort below U+E000..U+FFFF; move them above when both units are in that upper area.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x < 0xe000 ? x + 0x2000 : x - 0x800;
      y = y < 0xe000 ? y + 0x2000 : y - 0x800;
    }
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/**
 * The smallest string greater than every string that starts with `prefix` (in code point
 * order), or undefined when there is none (the empty prefix: every key matches).
 */
export function prefixEnd(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return cps.join('') + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/** The prefix range [start, end) as UTF-8 bytes, etcd style: end "\0" means "to the end". */
export function prefixRangeBytes(prefix: Buffer): { key: Buffer; rangeEnd: Buffer } {
  if (prefix.length === 0) return { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) };
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i] += 1;
      return { key: prefix, rangeEnd: end.subarray(0, i + 1) };
    }
  }
  return { key: prefix, rangeEnd: Buffer.from([0]) };
}

/** The first index in the sorted `keys` whose key is >= `key` (with `strict`: > `key`). */
export function lowerBound(keys: readonly string[], key: string, strict = false): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(keys[mid], key);
    if (c < 0 || (strict && c === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The key a watch event is about. */
export function eventKey(e: { type: 'PUT'; kv: { key: string } } | { type: 'DELETE'; prev: { key: string } }): string {
  return e.type === 'PUT' ? e.kv.key : e.prev.key;
}
