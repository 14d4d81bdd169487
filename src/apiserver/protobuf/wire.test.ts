import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtoReader, ProtobufDecodeError, WireType, type WireField, doubleOf, fixed32Of, fixed64Of, floatOf, int32Of, int64Of, uint32Of, zigzag } from './wire.ts';
import { cat, pb } from './testing.ts';

function fields(b: Uint8Array): WireField[] {
  const r = new ProtoReader(b);
  const out: WireField[] = [];
  for (let f = r.next(); f; f = r.next()) out.push(f);
  return out;
}

function num(f: WireField | undefined): bigint {
  assert.equal(f?.wire, WireType.Varint);
  return f.value;
}

function raw(f: WireField | undefined): Uint8Array {
  assert.ok(f && f.wire !== WireType.Varint);
  return f.value;
}

test('varints of one to ten bytes read back', () => {
  for (const v of [0n, 1n, 127n, 128n, 300n, 2n ** 32n, 2n ** 63n - 1n]) {
    const [f] = fields(pb.varint(1, v));
    assert.equal(f?.wire, WireType.Varint);
    assert.equal(f?.value, v);
  }
  const [neg] = fields(pb.varint(1, -1));
  assert.equal(neg?.value, 2n ** 64n - 1n);
  assert.equal(int32Of(num(neg)), -1);
  assert.equal(int64Of(num(neg)), -1);
  assert.equal(uint32Of(num(neg)), 2 ** 32 - 1);
});

test('field numbers above 15 take a two-byte tag', () => {
  const [f] = fields(pb.str(2047, 'x'));
  assert.equal(f?.field, 2047);
  assert.deepStrictEqual(f?.value, Uint8Array.of(0x78));
});

test('zigzag maps 0, 1, 2, 3 to 0, -1, 1, -2', () => {
  assert.deepStrictEqual([0n, 1n, 2n, 3n, 4294967294n].map(zigzag), [0, -1, 1, -2, 2147483647]);
  const [f] = fields(pb.sint(1, -150));
  assert.equal(zigzag(num(f)), -150);
});

test('fixed32, fixed64, float and double read little-endian', () => {
  const [a, b, c] = fields(cat(pb.fixed32(1, 0xfffffffe), pb.fixed64(2, -5n), pb.double(3, 1.5)));
  assert.equal(a?.wire, WireType.Fixed32);
  assert.equal(fixed32Of(raw(a), false), 0xfffffffe);
  assert.equal(fixed32Of(raw(a), true), -2);
  assert.equal(fixed64Of(raw(b), true), -5);
  assert.equal(doubleOf(raw(c)), 1.5);
  assert.equal(floatOf(Uint8Array.of(0, 0, 0xc0, 0x3f)), 1.5);
});

test('length-delimited fields return their bytes', () => {
  const [f, g] = fields(cat(pb.str(3, 'héllo'), pb.bytes(4, [])));
  assert.equal(new TextDecoder().decode(raw(f)), 'héllo');
  assert.equal(raw(g).length, 0);
});

test('malformed input throws ProtobufDecodeError with gogo-protobuf wording', () => {
  const cases: Array<[Uint8Array, string]> = [
    [Uint8Array.of(0x08), 'unexpected EOF'],
    [Uint8Array.of(0x08, 0x80), 'unexpected EOF'],
    [Uint8Array.of(0x0a, 0x05, 0x61), 'unexpected EOF'],
    [Uint8Array.of(0x0d, 0x01), 'unexpected EOF'],
    [Uint8Array.of(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 'proto: integer overflow'],
    [Uint8Array.of(0x00), 'proto: illegal tag 0 (wire type 0)'],
    [Uint8Array.of(0x0f), 'proto: illegal wireType 7'],
    [Uint8Array.of(0x0c), 'proto: wrong wireType = 4 for field 1'],
    [Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), 'proto: integer overflow'],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => fields(bytes), (e: unknown) => e instanceof ProtobufDecodeError && e.message === message, `${Buffer.from(bytes).toString('hex')}: ${message}`);
  }
});
