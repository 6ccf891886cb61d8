#!/usr/bin/env bash
# What a user who installs the package from the registry gets: `npm pack`, install the tarball into
# an empty project, then check that `import { Producer, Consumer } from 'nsq-ts'` resolves at run
# time and with its types (a strict TypeScript program compiles, and a wrong use fails to), and that
# the package's `nsqd --version` runs.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TMP=$(mktemp -d /tmp/pack-check.XXXXXX)
fail () { echo "pack check: FAILED: $*"; rm -rf "$TMP"; exit 1; }

npm pack --silent --pack-destination "$TMP" >"$TMP/pack.log" 2>&1 || { tail -20 "$TMP/pack.log"; fail "npm pack failed"; }
TGZ=$(ls "$TMP"/*.tgz 2>/dev/null | head -1)
[ -n "$TGZ" ] || fail "npm pack wrote no tarball"
tar -tzf "$TGZ" > "$TMP/files.txt" || fail "cannot list the tarball"
for f in package/dist/nsqd/main.js package/dist/client/index.d.ts package/admin/ui/index.html; do
  grep -qx "$f" "$TMP/files.txt" || fail "the tarball lacks $f"
done
if grep -q '^package/\(dist/\)\?test/' "$TMP/files.txt"; then fail "the tarball ships test files"; fi

mkdir -p "$TMP/app" && cd "$TMP/app" || fail "no temporary project"
printf '{ "name": "pack-check-app", "version": "1.0.0", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund --silent "$TGZ" @types/node@20 >"$TMP/install.log" 2>&1 || { tail -20 "$TMP/install.log"; fail "npm install of the tarball failed"; }

cat > app.ts <<'TS'
import { Producer, Consumer } from 'nsq-ts'
const producer: Producer = new Producer('127.0.0.1:4150')
const consumer: Consumer = new Consumer({ topic: 't', channel: 'c', nsqdTcpAddresses: ['127.0.0.1:4150'] })
export { producer, consumer }
TS
cat > wrong.ts <<'TS'
import { Producer } from 'nsq-ts'
const n: number = Producer
export { n }
TS
cat > tsconfig.json <<'JSON'
{ "compilerOptions": { "module": "NodeNext", "moduleResolution": "NodeNext", "target": "ES2022", "strict": true, "noEmit": true, "types": ["node"] }, "files": ["app.ts"] }
JSON
TSC="$ROOT/node_modules/.bin/tsc"
"$TSC" -p tsconfig.json >"$TMP/tsc.log" 2>&1 || { cat "$TMP/tsc.log"; fail "a TypeScript program importing Producer and Consumer does not type-check"; }
sed -i 's/"app.ts"/"wrong.ts"/' tsconfig.json
if "$TSC" -p tsconfig.json >/dev/null 2>&1; then fail "the types are not checked (a wrong use of Producer compiled)"; fi

node --input-type=module -e "import { Producer, Consumer } from 'nsq-ts'; if (typeof Producer !== 'function' || typeof Consumer !== 'function') process.exit(1)" \
  || fail "import { Producer, Consumer } from 'nsq-ts' does not resolve at run time"
VERSION_LINE=$(./node_modules/.bin/nsqd --version 2>&1) || fail "nsqd --version failed: $VERSION_LINE"
case "$VERSION_LINE" in nsqd\ v*) ;; *) fail "nsqd --version printed \"$VERSION_LINE\"" ;; esac
echo "pack check: $(basename "$TGZ") installs into an empty project; Producer/Consumer import with types; $VERSION_LINE"
cd / && rm -rf "$TMP"
