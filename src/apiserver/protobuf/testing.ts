// Test helper: writes protobuf by hand, field by field, so that tests can build bodies the way
// gogo-protobuf does (zeros included) and also bodies no encoder would write.

function varintBytes(v: bigint): number[] {
  let u = BigInt.asUintN(64, v);
  const out: number[] = [];
  do {
    let b = Number(u & 0x7fn);
    u >>= 7n;
    if (u !== 0n) b |= 0x80;
    out.push(b);
  } while (u !== 0n);
  return out;
}

function tag(field: number, wire: number): number[] {
  return varintBytes(BigInt(field * 8 + wire));
}

const enc = new TextEncoder();

/** One encoded field (or several, concatenated). */
export type Part = Uint8Array;

export const pb = {
  /** A varint field: int32/int64/uint/bool/enum (negative numbers as ten-byte two's complement). */
  varint(field: number, v: number | bigint | boolean): Part {
    const n = typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
    return Uint8Array.from([...tag(field, 0), ...varintBytes(n)]);
  },
  /** A zigzag-encoded sint32/sint64 field. */
  sint(field: number, v: number): Part {
    const n = BigInt(v);
    return Uint8Array.from([...tag(field, 0), ...varintBytes(n >= 0n ? n << 1n : ((-n) << 1n) - 1n)]);
  },
  fixed32(field: number, v: number): Part {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return Uint8Array.from([...tag(field, 5), ...b]);
  },
  fixed64(field: number, v: bigint): Part {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), true);
    return Uint8Array.from([...tag(field, 1), ...b]);
  },
  double(field: number, v: number): Part {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    return Uint8Array.from([...tag(field, 1), ...b]);
  },
  bytes(field: number, b: Uint8Array | readonly number[]): Part {
    return Uint8Array.from([...tag(field, 2), ...varintBytes(BigInt(b.length)), ...b]);
  },
  str(field: number, s: string): Part {
    return pb.bytes(field, enc.encode(s));
  },
  /** A nested message field made of the given parts. */
  msg(field: number, ...parts: Part[]): Part {
    return pb.bytes(field, cat(...parts));
  },
  /** One map entry (maps are repeated {1 key, 2 value} messages). */
  entry(field: number, key: string, value: string | Part): Part {
    return pb.msg(field, pb.str(1, key), typeof value === 'string' ? pb.str(2, value) : value);
  },
  /** Varints packed into one length-delimited field. */
  packed(field: number, values: readonly (number | bigint)[]): Part {
    return pb.bytes(field, values.flatMap((v) => varintBytes(BigInt(v))));
  },
};

export function cat(...parts: Part[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** "k8s\0" + runtime.Unknown{typeMeta{apiVersion, kind}, raw, "", ""}, as client-go writes it. */
export function envelope(apiVersion: string, kind: string, raw: Uint8Array): Uint8Array {
  return cat(Uint8Array.of(0x6b, 0x38, 0x73, 0x00), pb.msg(1, pb.str(1, apiVersion), pb.str(2, kind)), pb.bytes(2, raw), pb.str(3, ''), pb.str(4, ''));
}
