// The child of test/store-crash.test.ts: opens the file-log store in DIR (the compiled
// build, dist/) and writes until it is killed, printing one line per acknowledged write:
//   ack create NAME RV            a new ConfigMap (never deleted unless NAME starts with "tmp-")
//   ack update NAME VALUE RV      counter NAME now holds VALUE (each worker owns one counter)
//   ack delete NAME RV            NAME (a "tmp-" object) is gone
// Usage: node store-writer.mjs DIR ROUND
import { openStore } from '../../dist/src/cluster/store/index.js';
import { NodeLogFiles } from '../../dist/src/platform/node/log-files.js';

const [dir, round] = process.argv.slice(2);
const WORKERS = 16;
const store = await openStore({ log: new NodeLogFiles(dir), snapshot: { minLogBytes: 32 * 1024 } });
const out = (line) => process.stdout.write(`${line}\n`);
out(`ready ${store.revision} ${store.persistence.truncatedBytes}`);
const pad = 'x'.repeat(200);

async function worker(w) {
  const counter = `counter-${w}`;
  let current = store.get({ kind: 'ConfigMap', namespace: 'default', name: counter });
  if (!current.ok) {
    const r = await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: counter }, data: { value: '0' } });
    if (!r.ok) throw r.error;
    current = r;
    out(`ack update ${counter} 0 ${r.value.metadata.resourceVersion}`);
  }
  for (let i = 0; ; i++) {
    const name = `r${round}-w${w}-${i}`;
    const c = await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { round: String(round) } }, data: { self: name, pad } });
    if (!c.ok) throw c.error;
    out(`ack create ${name} ${c.value.metadata.resourceVersion}`);
    const value = Number(current.value.data.value) + 1;
    const u = await store.update({ ...current.value, data: { value: String(value) } });
    if (!u.ok) throw u.error;
    current = u;
    out(`ack update ${counter} ${value} ${u.value.metadata.resourceVersion}`);
    if (i % 4 === 0) {
      const tmp = `tmp-${name}`;
      const t = await store.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: tmp }, data: { self: tmp } });
      if (!t.ok) throw t.error;
      out(`ack create ${tmp} ${t.value.metadata.resourceVersion}`);
      const d = await store.delete({ kind: 'ConfigMap', namespace: 'default', name: tmp });
      if (!d.ok) throw d.error;
      out(`ack delete ${tmp} ${d.value.object.metadata.resourceVersion}`);
    }
  }
}

await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
