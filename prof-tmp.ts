import { readFileSync } from 'node:fs';
import { diagnose } from '#shared/diagnosis/diagnose';
const rows = ['corpus.jsonl','holdout.jsonl'].flatMap(f=>readFileSync('test/fixtures/messages/'+f,'utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l)));
for (let i=0;i<300;i++) for (const r of rows) diagnose(r);
const t=process.hrtime.bigint(); let n=0;
for (let i=0;i<300;i++) for (const r of rows) {diagnose(r); n++;}
console.log(n/(Number(process.hrtime.bigint()-t)/1e9));
