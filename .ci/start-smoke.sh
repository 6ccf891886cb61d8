#!/usr/bin/env bash
# The README's first command, as a new user runs it: `npm start` (build, then nsqlookupd + nsqd +
# nsqadmin on the default ports, data under ./data), checked end to end: every daemon answers /ping,
# a message published over HTTP is read back by the built nsq_tail through lookupd, and Ctrl-C
# (SIGINT to the whole process group, as a terminal sends it) stops all three with status 0.
# Prints one "start smoke: ..." line per step; exits non-zero on the first failure.
set -uo pipefail
cd "$(dirname "$0")/.."
LOG=$(mktemp /tmp/start-smoke.XXXXXX.log)
DATA=$(mktemp -d /tmp/start-smoke-data.XXXXXX)
PGID=""

fail () {
  echo "start smoke: FAILED: $*"
  echo "---- npm start output (last 40 lines) ----"; tail -40 "$LOG"
  [ -n "$PGID" ] && kill -KILL -- "-$PGID" 2>/dev/null
  rm -rf "$DATA"
  exit 1
}

for port in 4150 4151 4160 4161 4171; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port is already in use"; fi
done

# its own process group, so that one SIGINT reaches npm and every daemon, as Ctrl-C does
setsid npm start -- --data-path="$DATA" >"$LOG" 2>&1 < /dev/null &
PGID=$!

wait_ping () {
  local url=$1 deadline=$((SECONDS + 90))
  until [ "$(curl -s -m 2 "$url" 2>/dev/null)" = "OK" ]; do
    kill -0 "$PGID" 2>/dev/null || fail "npm start exited before $url answered"
    [ $SECONDS -ge $deadline ] && fail "$url did not answer OK within 90 s"
    sleep 0.2
  done
}
wait_ping http://127.0.0.1:4151/ping
wait_ping http://127.0.0.1:4161/ping
wait_ping http://127.0.0.1:4171/ping
echo "start smoke: nsqd, nsqlookupd and nsqadmin answer /ping on 4151, 4161, 4171"

BODY="smoke-$$-$RANDOM"
[ "$(curl -s -m 5 -d "$BODY" 'http://127.0.0.1:4151/pub?topic=ci_smoke')" = "OK" ] || fail "POST /pub did not answer OK"
echo "start smoke: published \"$BODY\" over HTTP"

GOT=$(timeout 30 node dist/client/tools/nsq_tail.js --topic=ci_smoke --lookupd-http-address=127.0.0.1:4161 -n 1 2>>"$LOG")
[ "$GOT" = "$BODY" ] || fail "nsq_tail through lookupd printed \"$GOT\", expected \"$BODY\""
echo "start smoke: nsq_tail read it back through lookupd"

kill -INT -- "-$PGID"
deadline=$((SECONDS + 20))
while kill -0 "$PGID" 2>/dev/null; do
  [ $SECONDS -ge $deadline ] && fail "npm start still running 20 s after SIGINT"
  sleep 0.2
done
wait "$PGID"; rc=$?
for d in nsqadmin nsqd nsqlookupd; do
  grep -q "^$d exited (0)$" "$LOG" || fail "$d did not exit with status 0 after SIGINT"
done
grep -q "^NSQ dev cluster stopped: every daemon exited with status 0$" "$LOG" || fail "the dev cluster did not report a clean stop"
# npm itself answers a Ctrl-C with 130 (128 + SIGINT) once its script has ended; anything else is a failure
[ $rc -eq 0 ] || [ $rc -eq 130 ] || fail "npm start exited with status $rc after SIGINT"
PGID=""
echo "start smoke: SIGINT stopped all three daemons with status 0 in $((20 - (deadline - SECONDS))) s"
rm -rf "$DATA" "$LOG"
