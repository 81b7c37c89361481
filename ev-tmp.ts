import { readFileSync } from 'node:fs';
import { diagnose } from '#shared/diagnosis/diagnose';
import { renderVerdict } from './cli/render-verdict';
const rows = ['corpus.jsonl','holdout.jsonl'].flatMap(f=>readFileSync('test/fixtures/messages/'+f,'utf8').split('\n').filter(Boolean).map(l=>JSON.parse(l)));
for (const id of process.argv.slice(2)) { const x = rows.find(r=>r.id===id); console.log(renderVerdict(diagnose({...x, namespace:'ci', pod:'e2-7c9d-x1', container:'e2', serviceAccount:'builder', workload:{kind:'Deployment',name:'e2'}, node:'ip-10-0-1-5.ec2.internal'}))); console.log('=========='); }
