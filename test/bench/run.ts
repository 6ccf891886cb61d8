// `npm run bench`: runs every benchmark script in turn (each is also runnable alone with tsx).
// `npm run bench -- nsqd http` runs only the named ones. Figures go to stdout.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const ALL = ['nsqd', 'nsqd-disk', 'replication', 'http', 'client', 'transport', 'store', 'registration-db']
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const names = (wanted.length > 0 ? wanted : ALL).filter((n) => fs.existsSync(path.join(here, `${n}.ts`)))
let failed = 0
for (const name of names) {
  process.stdout.write(`\n=== bench: ${name} ===\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, `${name}.ts`)], { stdio: 'inherit', timeout: 15 * 60_000 })
  if (r.status !== 0) { failed++; process.stdout.write(`bench ${name} failed (${r.status ?? r.signal})\n`) }
}
process.exit(failed === 0 ? 0 : 1)
