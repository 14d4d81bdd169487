// The wire codec: names, hostile compression, whole messages, and prepared responses checked
// against an independent decoder (dns-packet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket from 'dns-packet';
import { fit, prepare, FLAG_AA, FLAG_QR } from './prepared.ts';
import type { RR } from './rr.ts';
import { nameToWire, parseMessage, readName, TYPE, WireError, wireToName, lowerBytes } from './wire.ts';

test('a name goes to wire form and back', () => {
  const w = nameToWire('svc1.testns.svc.cluster.local.');
  assert.equal(w.length, 31);
  assert.equal(wireToName(readName(w, 0).wire), 'svc1.testns.svc.cluster.local.');
  assert.equal(wireToName(nameToWire('.')), '.');
});

test('names with labels over 63 bytes or over 255 in all are refused', () => {
  assert.throws(() => nameToWire('a'.repeat(64) + '.example.'), WireError);
  assert.throws(() => nameToWire(Array(64).fill('abcd').join('.')), WireError);
});

test('odd bytes in labels are shown escaped', () => {
  const w = Buffer.from([3, 0x61, 0x2e, 0x00, 1, 0x62, 0]);
  assert.equal(wireToName(w), 'a\\.\\000.b.');
});

test('a compression pointer that loops, points forward or points into itself is refused', () => {
  // header, then a name at 12 whose pointer targets itself
  const self = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]);
  assert.throws(() => readName(self, 12), /pointer/);
  // two pointers pointing at each other
  const pair = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 14, 0xc0, 12])]);
  assert.throws(() => readName(pair, 12), /pointer/);
  assert.throws(() => readName(pair, 14), /pointer/);
  // a label running over a pointer that jumps back to the label
  const over = Buffer.concat([Buffer.alloc(12), Buffer.from([1, 0x61, 0xc0, 12])]);
  assert.throws(() => readName(over, 14), /pointer/);
  // a pointer to earlier data that is fine
  const ok = Buffer.concat([Buffer.alloc(12), Buffer.from([1, 0x61, 0, 1, 0x62, 0xc0, 12])]);
  assert.equal(wireToName(readName(ok, 15).wire), 'b.a.');
});

test('reserved label types and names past the message end are refused', () => {
  assert.throws(() => readName(Buffer.from([0x40, 0]), 0), WireError);
  assert.throws(() => readName(Buffer.from([0x80, 0]), 0), WireError);
  assert.throws(() => readName(Buffer.from([5, 0x61]), 0), WireError);
  assert.throws(() => readName(Buffer.from([1, 0x61]), 0), WireError);
});

test('a name expanding past 255 bytes through pointers is refused', () => {
  // a 200-byte name, then a name of 60 more bytes pointing at it
  const parts: number[] = [];
  for (let i = 0; i < 4; i++) parts.push(49, ...Buffer.alloc(49, 0x61));
  parts.push(0);
  const first = Buffer.from(parts);
  const second = Buffer.from([59, ...Buffer.alloc(59, 0x62), 0xc0, 0]);
  assert.throws(() => readName(Buffer.concat([first, second]), first.length), /255/);
});

test('a whole message parses, RDATA names decompressed', () => {
  const m = dnsPacket.encode({
    type: 'response',
    id: 42,
    flags: dnsPacket.RECURSION_AVAILABLE,
    questions: [{ name: 'www.example.test', type: 'A' }],
    answers: [
      { name: 'www.example.test', type: 'CNAME', ttl: 30, data: 'web.example.test' },
      { name: 'web.example.test', type: 'A', ttl: 20, data: '192.0.2.1' },
    ],
    authorities: [{ name: 'example.test', type: 'SOA', ttl: 60, data: { mname: 'ns.example.test', rname: 'h.example.test', serial: 7, refresh: 1, retry: 2, expire: 3, minimum: 4 } }],
  });
  const p = parseMessage(m);
  assert.equal(p.id, 42);
  assert.equal(p.questions.length, 1);
  assert.equal(p.answers.length, 2);
  assert.equal(wireToName(readName(p.answers[0].rdata, 0).wire), 'web.example.test.');
  assert.equal(p.authority[0].rdata.readUInt32BE(p.authority[0].rdata.length - 4), 4);
});

test('counts that promise more records than the message holds are refused', () => {
  const m = Buffer.alloc(12);
  m.writeUInt16BE(1, 4);
  m.writeUInt16BE(65535, 6);
  assert.throws(() => parseMessage(m), WireError);
  assert.throws(() => parseMessage(Buffer.alloc(5)), WireError);
});

const records: RR[] = [
  { type: 'SRV', name: '_http._tcp.hdls.ns.svc.cluster.local.', ttl: 5, priority: 0, weight: 50, port: 80, target: 'a.hdls.ns.svc.cluster.local.' },
  { type: 'SRV', name: '_http._tcp.hdls.ns.svc.cluster.local.', ttl: 5, priority: 0, weight: 50, port: 80, target: 'b.hdls.ns.svc.cluster.local.' },
];
const extra: RR[] = [
  { type: 'A', name: 'a.hdls.ns.svc.cluster.local.', ttl: 5, address: '10.1.0.1' },
  { type: 'AAAA', name: 'b.hdls.ns.svc.cluster.local.', ttl: 5, address: 'fd00::1' },
];

test('a prepared response decodes to the records it was made of, names compressed', () => {
  const q = lowerBytes(nameToWire('_http._tcp.hdls.ns.svc.cluster.local.'));
  const p = prepare(q, TYPE.SRV, 1, FLAG_QR | FLAG_AA, records, [], extra);
  const d = dnsPacket.decode(p.bytes);
  assert.equal(d.answers?.length, 2);
  assert.deepEqual(
    d.answers?.map((a) => (a.type === 'SRV' ? [a.name, a.data.target, a.data.port, a.data.weight] : [])),
    [
      ['_http._tcp.hdls.ns.svc.cluster.local', 'a.hdls.ns.svc.cluster.local', 80, 50],
      ['_http._tcp.hdls.ns.svc.cluster.local', 'b.hdls.ns.svc.cluster.local', 80, 50],
    ],
  );
  assert.deepEqual(d.additionals?.map((a) => [a.name, a.type === 'A' || a.type === 'AAAA' ? a.data : '']), [
    ['a.hdls.ns.svc.cluster.local', '10.1.0.1'],
    ['b.hdls.ns.svc.cluster.local', 'fd00::1'],
  ]);
  // Owners point at the question (2 bytes each) instead of repeating 38 bytes.
  const plain = 12 + q.length + 4 + 2 * (q.length + 10 + 6 + 30) + (30 + 10 + 4) + (30 + 10 + 16);
  assert.ok(p.bytes.length < plain - 100, `${p.bytes.length} bytes, uncompressed ${plain}`);
  assert.equal(p.ends.length, 4);
  assert.equal(p.ends[3], p.bytes.length);
});

test('what does not fit is cut at whole records: answers set TC, additional records do not', () => {
  const q = lowerBytes(nameToWire('_http._tcp.hdls.ns.svc.cluster.local.'));
  const p = prepare(q, TYPE.SRV, 1, FLAG_QR | FLAG_AA, records, [], extra);
  assert.deepEqual(fit(p, 4096), { length: p.bytes.length, an: 2, ns: 0, ar: 2, tc: false });
  const noExtra = fit(p, p.ends[1]);
  assert.deepEqual(noExtra, { length: p.ends[1], an: 2, ns: 0, ar: 0, tc: false });
  const oneAnswer = fit(p, p.ends[1] - 1);
  assert.deepEqual(oneAnswer, { length: p.ends[0], an: 1, ns: 0, ar: 0, tc: true });
  const none = fit(p, p.qEnd + 5);
  assert.deepEqual(none, { length: p.qEnd, an: 0, ns: 0, ar: 0, tc: true });
});
