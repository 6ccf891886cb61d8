// `npm run bench`: runs every benchmark script in turn (each is also runnable alone with tsx).
// `npm run bench -- nsqd http` runs only the named ones. Figures go to stdout.
// `npm run bench -- --quick`: only the nsqd table (issue 14's workloads), with short runs (~1 min).
// Flags (`--quick`, `--seconds N`, ...) are passed on to the scripts that read flags.

import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const ALL = ['nsqd', 'policies', 'nsqd-disk', 'replication', 'http', 'gateway', 'connections', 'client', 'transport', 'store', 'registration-db']
// these take positional arguments, not flags
const POSITIONAL = new Set(['store', 'registration-db'])
const args = process.argv.slice(2)
const isBench = (a: string): boolean => !a.startsWith('-') && /^[a-z-]+$/.test(a) && fs.existsSync(path.join(here, `${a}.ts`))
// a flag's value (`--only mpub-100`) is a flag argument even when it looks like a name
const wanted = args.filter((a, i) => isBench(a) && !(i > 0 && args[i - 1]!.startsWith('--') && !['--quick'].includes(args[i - 1]!)))
const flags = args.filter((a) => !wanted.includes(a))
const quick = args.includes('--quick')
const names = (wanted.length > 0 ? wanted : quick ? ['nsqd'] : ALL).filter((n) => fs.existsSync(path.join(here, `${n}.ts`)))
let failed = 0
for (const name of names) {
  process.stdout.write(`\n=== bench: ${name} ===\n`)
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, `${name}.ts`), ...(POSITIONAL.has(name) ? [] : flags)], { stdio: 'inherit', timeout: 15 * 60_000 })
  if (r.status !== 0) { failed++; process.stdout.write(`bench ${name} failed (${r.status ?? r.signal})\n`) }
}
process.exit(failed === 0 ? 0 : 1)
