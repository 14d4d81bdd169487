// Child process of store-durability.test.ts: opens a store, creates keys in a loop and prints
// "ack <key> <revision>" for each write the store acknowledged, until it is killed.
import { openStore } from '../src/store/index.ts';

const [spec, prefix] = process.argv.slice(2);
if (!spec) throw new Error('usage: store-durability-writer.ts <store spec> [etcd key prefix]');
const store = await openStore(spec, prefix ? { prefix } : {});
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const kv = await store.create(`/d/${String(i).padStart(8, '0')}`, `value-${i}`);
  process.stdout.write(`ack ${kv.key} ${kv.modRevision}\n`);
}
