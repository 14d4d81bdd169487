// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), read by hand:
// varints, zigzag, fixed 32/64-bit values and length-delimited fields. Errors carry the words
// gogo-protobuf's generated Unmarshal uses, since kube-apiserver passes those on in its 400s.

/** Wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 (3 and 4 are proto2 groups). */
export const WireType = { Varint: 0, Fixed64: 1, Bytes: 2, StartGroup: 3, EndGroup: 4, Fixed32: 5 } as const;
export type WireType = (typeof WireType)[keyof typeof WireType];

/** A body that is not well-formed protobuf, or that does not fit the message it claims to be. */
export class ProtobufDecodeError extends SyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufDecodeError';
  }
}

const unexpectedEOF = 'unexpected EOF';

/** One field as it sits on the wire: its number, wire type and raw value. */
export type WireField =
  | { field: number; wire: typeof WireType.Varint; value: bigint }
  | { field: number; wire: typeof WireType.Fixed64; value: Uint8Array }
  | { field: number; wire: typeof WireType.Bytes; value: Uint8Array }
  | { field: number; wire: typeof WireType.Fixed32; value: Uint8Array };

/** Reads one protobuf message from a byte range, field by field. */
export class ProtoReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An unsigned varint of up to 64 bits (ten bytes at most). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (shift >= 70n) throw new ProtobufDecodeError('proto: integer overflow');
      if (this.pos >= this.buf.length) throw new ProtobufDecodeError(unexpectedEOF);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
    }
  }

  /** A varint that must fit a non-negative JS number (tags and lengths). */
  private smallVarint(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift >= 49) throw new ProtobufDecodeError('proto: integer overflow');
      if (this.pos >= this.buf.length) throw new ProtobufDecodeError(unexpectedEOF);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
  }

  private take(n: number): Uint8Array {
    if (n < 0) throw new ProtobufDecodeError('proto: negative length found during unmarshaling');
    if (this.pos + n > this.buf.length) throw new ProtobufDecodeError(unexpectedEOF);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next field, or undefined at the end of the message. */
  next(): WireField | undefined {
    if (this.done) return undefined;
    const tag = this.smallVarint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field <= 0) throw new ProtobufDecodeError(`proto: illegal tag ${field} (wire type ${wire})`);
    switch (wire) {
      case WireType.Varint:
        return { field, wire, value: this.varint() };
      case WireType.Fixed64:
        return { field, wire, value: this.take(8) };
      case WireType.Bytes:
        return { field, wire, value: this.take(this.smallVarint()) };
      case WireType.Fixed32:
        return { field, wire, value: this.take(4) };
      case WireType.StartGroup:
      case WireType.EndGroup:
        // Kubernetes' messages have no groups; gogo's Unmarshal rejects them the same way.
        throw new ProtobufDecodeError(`proto: wrong wireType = ${wire} for field ${field}`);
      default:
        throw new ProtobufDecodeError(`proto: illegal wireType ${wire}`);
    }
  }
}

// ---- scalar conversions of raw wire values ----

export function int32Of(v: bigint): number {
  return Number(BigInt.asIntN(32, v));
}

export function int64Of(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

export function uint32Of(v: bigint): number {
  return Number(BigInt.asUintN(32, v));
}

export function uint64Of(v: bigint): number {
  return Number(BigInt.asUintN(64, v));
}

/** Zigzag (sint32/sint64): 0 → 0, 1 → -1, 2 → 1, 3 → -2 ... */
export function zigzag(v: bigint): number {
  const u = BigInt.asUintN(64, v);
  return Number((u >> 1n) ^ -(u & 1n));
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function fixed32Of(b: Uint8Array, signed: boolean): number {
  return signed ? view(b).getInt32(0, true) : view(b).getUint32(0, true);
}

export function fixed64Of(b: Uint8Array, signed: boolean): number {
  return Number(signed ? view(b).getBigInt64(0, true) : view(b).getBigUint64(0, true));
}

export function floatOf(b: Uint8Array): number {
  return view(b).getFloat32(0, true);
}

export function doubleOf(b: Uint8Array): number {
  return view(b).getFloat64(0, true);
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Go's string([]byte) keeps invalid UTF-8; JSON then carries U+FFFD, as here. */
export function stringOf(b: Uint8Array): string {
  return utf8.decode(b);
}
