// The nsqd binary: Go-style flags, --help, --version, --config, start-up errors, SIGTERM.

import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { ROOT, spawnDaemon, getJson } from '../helpers/procs.js'
import { tmpDir } from '../helpers/nsqd.js'

const run = (args: string[]): { status: number | null, out: string, err: string } => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'nsqd/main.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30000 })
  return { status: r.status, out: r.stdout, err: r.stderr }
}

t.test('--help, --version and bad flags', async (t) => {
  const help = run(['--help'])
  t.equal(help.status, 0)
  t.match(help.out, /^Usage of nsqd:/)
  t.match(help.out, /-mem-queue-size int\n\s+number of messages to keep in memory \(per topic\/channel\) \(default 10000\)/)
  t.match(help.out, /-msg-timeout duration\n.*\(default 1m0s\)/)
  t.match(help.out, /-store-backlog-size int\n.*publishers wait.*\(default 8388608\)/, 'the memory bounds beyond NSQ are documented in --help')
  t.match(help.out, /-store-write-buffer-size int\n.*\(default 4194304\)/)
  const version = run(['-version'])
  t.equal(version.status, 0)
  t.match(version.out, /^nsqd v1\.3\.0 /)
  const bad = run(['-no-such-flag'])
  t.equal(bad.status, 2)
  t.match(bad.err, /^flag provided but not defined: -no-such-flag/)
  const badValue = run(['--msg-timeout', 'soon'])
  t.equal(badValue.status, 2)
  t.match(badValue.err, /invalid value "soon" for flag -msg-timeout/)
  const invalid = run(['--max-deflate-level=10', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'])
  t.equal(invalid.status, 1)
  t.match(invalid.err, /--max-deflate-level must be \[1,9\]/)
})

t.test('--config is read under explicit flags; SIGTERM exits 0', async (t) => {
  const dir = tmpDir(t)
  const cfg = path.join(dir, 'nsqd.cfg')
  fs.writeFileSync(cfg, [
    '# nsqd config',
    'mem_queue_size = 123',
    'msg_timeout = "45s"',
    'max_rdy_count = 77',
    `data_path = "${dir}"`,
    'e2e_processing_latency_percentiles = [0.99, 0.5]'
  ].join('\n'))
  const d = await spawnDaemon(t, 'nsqd/main.ts', [`--config=${cfg}`, '-max-rdy-count', '88', '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--log-level=warn'])
  t.equal(await getJson(`http://${d.http}/config/mem_queue_size`), 123, 'from the file')
  t.equal(await getJson(`http://${d.http}/config/max_rdy_count`), 88, 'the flag beats the file')
  t.equal(await getJson(`http://${d.http}/config/msg_timeout`), 45_000_000_000, 'durations in ns as NSQ reports them')
  t.same(await getJson(`http://${d.http}/config/e2e_processing_latency_percentiles`), [0.99, 0.5])
  t.equal(await d.stop('SIGTERM'), 0, 'clean exit on SIGTERM')
})
