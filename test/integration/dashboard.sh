#!/usr/bin/env bash
# The dashboard in a real browser: headless Chromium from Debian, driven by
# playwright-core (test/browser/dashboard.mjs, installed by `npm ci` from the
# committed lock file; no browser download), against `novacron serve` on
# simulated hosts (sim://, libvirt's test driver kept under the state dir).
#
#   1. serve with apply.mode approve (every plan waits for an approval by
#      digest), a git source whose commit message tries XSS (the spec itself
#      refuses such VM names and label values; the API shows no unmanaged
#      domain names); API tokens for a
#      viewer, an operator and an admin (`novacron token create`).
#      The browser: a wrong token is refused, login with a token, the overview
#      shows the hosts, the XSS string shows as text and no dialog opens, a
#      viewer sees no Approve button, keyboard navigation, the dark scheme; an
#      operator approves the plan; the admin's audit log shows it.  Then the
#      VMs are in the simulated hosts' state (the approved plan was applied).
#   2. 500 simulated hosts, 10,000 VMs: the first render time of the overview
#      and of the VM list, printed as figures (never failed on time).
#
# Screenshots are kept as artifacts in build/artifacts/dashboard/ after the
# run; with UPDATE_SCREENSHOTS=1 a few are copied to docs/img/ for
# docs/dashboard.md.
# Exit 0 passed, 1 failed, 77 skipped (no Chromium, no npm registry), with a reason.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-dashboard-XXXXXX)
CHROMIUM=${NC_CHROMIUM:-/usr/bin/chromium}
SERVE=
PROVIDER=
fails=0

stop_serve() {
	if [ -n "$SERVE" ]; then
		kill "$SERVE" 2>/dev/null && wait "$SERVE" 2>/dev/null
		SERVE=
	fi
}
cleanup() {
	stop_serve
	[ -n "$PROVIDER" ] && kill "$PROVIDER" 2>/dev/null && wait "$PROVIDER" 2>/dev/null
	# the screenshots outlive the run, as artifacts (build/ is not tracked)
	if [ -d "$T/shots" ]; then
		rm -rf "$ROOT/build/artifacts/dashboard"
		mkdir -p "$ROOT/build/artifacts" && cp -r "$T/shots" "$ROOT/build/artifacts/dashboard" &&
			echo "screenshots kept in build/artifacts/dashboard/ ($(ls "$T/shots" | wc -l) files)"
	fi
	rm -rf "$T"
}
trap cleanup EXIT

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
say()  { printf '[dashboard %s] %s\n' "$(date +%T)" "$*" >&2; }

[ -x "$NC" ] || { echo "FAIL: $NC is not built (cmake --build build)"; exit 1; }
command -v node >/dev/null || { echo "skip: node is not installed (scripts/deps.sh installs nodejs)"; exit 77; }
command -v npm >/dev/null || { echo "skip: npm is not installed (scripts/deps.sh installs it)"; exit 77; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "skip: playwright-core needs Node.js 20 or newer (this is $(node --version))"; exit 77; }
command -v curl >/dev/null || { echo "FAIL: curl is needed"; exit 1; }
if [ ! -x "$CHROMIUM" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1
	fi
	[ -x "$CHROMIUM" ] || { echo "skip: Chromium ($CHROMIUM) is not installed and could not be (apt-get install chromium)"; exit 77; }
fi
# playwright-core from the lock file, without its browser download
if ! (cd test/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1; then
	cat "$T/npm.log" >&2
	echo "skip: npm ci in test/browser failed (no npm registry?)"
	exit 77
fi

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start_serve CONFIG LOG: serve in the background, waits until /healthz answers
start_serve() {
	"$NC" serve --config "$1" 2>"$2" &
	SERVE=$!
	for _ in $(seq 200); do
		curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
		kill -0 "$SERVE" 2>/dev/null || break
		sleep 0.1
	done
	cat "$2" >&2
	return 1
}
# api PATH [TOKEN]: GET an API path (bearer token)
api() { curl -fsS --max-time 20 ${2:+-H "Authorization: Bearer $2"} "http://127.0.0.1:$PORT$1"; }
# wait_plan TOKEN: until the first pass has a plan with actions (its digest on stdout)
wait_plan() {
	local j
	for _ in $(seq 300); do
		j=$(api /api/v1/plan "$1" 2>/dev/null) &&
			node -e 'const p=JSON.parse(process.argv[1]); process.exit(p.digest && (p.actions||[]).length ? 0 : 1)' "$j" &&
			return 0
		sleep 0.2
	done
	return 1
}

export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
XSS_COMMIT='<script>alert("commit")</script> add the web tier'

# ---- 1. the cluster: three sim hosts, four VMs, in a git repository
say "spec and tokens"
mkdir -p "$T/work/cluster" "$T/state" "$T/shots"
cat >"$T/work/cluster/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata:
  name: kvm1
  labels: {zone: east}
spec:
  uri: sim:///kvm1
---
apiVersion: novacron.io/v1
kind: Host
metadata:
  name: kvm2
  labels: {zone: east}
spec:
  uri: sim:///kvm2
---
apiVersion: novacron.io/v1
kind: Host
metadata:
  name: kvm3
  labels: {zone: west}
spec:
  uri: sim:///kvm3
---
apiVersion: novacron.io/v1
kind: VM
metadata:
  name: web-1
  labels: {app: shop, role: web}
spec:
  vcpus: 2
  memory: 1GiB
---
apiVersion: novacron.io/v1
kind: VM
metadata:
  name: web-2
  labels: {app: shop, role: web}
spec:
  vcpus: 2
  memory: 1GiB
---
apiVersion: novacron.io/v1
kind: VM
metadata:
  name: db-1
  labels: {app: shop, role: db}
spec:
  vcpus: 4
  memory: 4GiB
  placement: {host: kvm3}
---
apiVersion: novacron.io/v1
kind: VM
metadata:
  name: cache-1
  labels: {app: shop, role: cache}
spec:
  vcpus: 1
  memory: 512MiB
  state: stopped
YAML
"$NC" validate --quiet "$T/work/cluster" || { echo "FAIL: the test's spec does not validate"; exit 1; }
git init -q --bare -b main "$T/remote.git"
git -C "$T/work" init -q -b main
git -C "$T/work" add -A
git -C "$T/work" commit -qm "$XSS_COMMIT"
git -C "$T/work" push -q "$T/remote.git" main

declare -A TOK
for role in viewer operator admin; do
	TOK[$role]=$("$NC" token create "dash-$role" --role "$role" --state-dir "$T/state" 2>"$T/token.err" | grep -E '^nc_' | tail -1)
	[ -n "${TOK[$role]}" ] || { cat "$T/token.err"; echo "FAIL: novacron token create dash-$role"; exit 1; }
done

PORT=$(free_port)
# the OpenID Connect provider (test/oidc/provider.mjs): it approves alice of
# group ops at once; serve binds ops to operator
OIDC=
if [ -f test/oidc/provider.mjs ]; then
	node test/oidc/provider.mjs --port 0 --client-id novacron --redirect-uri "http://127.0.0.1:$PORT/auth/callback" \
		--user alice --email alice@example.com --groups ops >"$T/provider.out" 2>"$T/provider.err" &
	PROVIDER=$!
	for _ in $(seq 100); do grep -q '^port ' "$T/provider.out" 2>/dev/null && break; sleep 0.1; done
	OPORT=$(sed -n 's/^port //p' "$T/provider.out")
	[ -n "$OPORT" ] && OIDC=1 || { cat "$T/provider.err"; fail "the OIDC test provider did not start"; }
fi
cat >"$T/serve.yaml" <<YAML
source:
  git: {url: "file://$T/remote.git", path: cluster}
cacheDir: $T/cache
stateDir: $T/state
interval: 2s
driftInterval: 1h
listen: 127.0.0.1:$PORT
apply:
  mode: approve
ha: {enabled: false}
telemetry: {interval: 1s}
YAML
[ -n "$OIDC" ] && cat >>"$T/serve.yaml" <<YAML
api:
  roles:
    - {role: operator, groups: [ops]}
  oidc:
    issuer: http://127.0.0.1:$OPORT
    clientId: novacron
    redirectUrl: http://127.0.0.1:$PORT/auth/callback
YAML
say "serve on 127.0.0.1:$PORT"
start_serve "$T/serve.yaml" "$T/serve.log" || { echo "FAIL: serve did not start"; exit 1; }
if wait_plan "${TOK[viewer]}"; then
	ok "serve holds the first plan for approval (apply.mode approve)"
else
	tail -30 "$T/serve.log"; echo "FAIL: no pending plan from serve"; exit 1
fi

# the dashboard's files over the real listener: by exact name, with a strict CSP
hdr=$(curl -s -D - -o "$T/index.html" --max-time 20 "http://127.0.0.1:$PORT/")
if grep -qi '^content-type: text/html' <<<"$hdr" && grep -qi "^content-security-policy: .*script-src 'self'" <<<"$hdr" &&
	cmp -s "$T/index.html" web/ui/index.html; then
	ok "GET / is web/ui/index.html as text/html with a Content-Security-Policy"
else
	fail "GET / did not answer web/ui/index.html with a CSP: $(head -c 300 <<<"$hdr")"
fi
code=$(curl -s -o "$T/app.js" -w '%{http_code} %{content_type}' --max-time 20 "http://127.0.0.1:$PORT/ui/app.js")
if [ "$code" = "200 text/javascript; charset=utf-8" ] && cmp -s "$T/app.js" web/ui/app.js; then
	ok "GET /ui/app.js is web/ui/app.js as text/javascript"
else
	fail "GET /ui/app.js: $code"
fi
bad=
for u in /ui/../ui/app.js /ui/%2e%2e/ui/app.js /ui//app.js '/ui/..%5capp.js' /ui/%00 /ui/%00../../etc/passwd \
	/..%2f..%2fetc/passwd /ui/nosuch.js; do
	code=$(curl -s --path-as-is -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$PORT$u")
	[ "$code" = 404 ] || [ "$code" = 400 ] || bad="$bad $u=$code"
done
if [ -z "$bad" ]; then
	ok "asset paths with .., %2e%2e, //, backslashes, %00 or unknown names are 404"
else
	fail "asset paths answered:$bad"
fi
# libmicrohttpd decodes %00 into the path, which then ends there: app.js%00
# can only be app.js itself (or refused), never anything past the NUL
code=$(curl -s --path-as-is -o "$T/nul.js" -w '%{http_code}' --max-time 20 "http://127.0.0.1:$PORT/ui/app.js%00.html")
if [ "$code" = 404 ] || [ "$code" = 400 ] || { [ "$code" = 200 ] && cmp -s "$T/nul.js" web/ui/app.js; }; then
	ok "a %00 in an asset path reaches nothing past it ($code)"
else
	fail "/ui/app.js%00.html answered $code"
fi

# a write naming a VM that tries XSS: refused (no such VM), but audited; the
# admin's audit log and events show the name
XSS_PATH='<script>alert("audit")</script>'
curl -s -o /dev/null --max-time 20 -X POST -H "Authorization: Bearer ${TOK[operator]}" \
	-H 'Content-Type: application/json' -d '{}' \
	"http://127.0.0.1:$PORT/api/v1/vms/$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$XSS_PATH")/backup"

say "the browser"
NC_URL="http://127.0.0.1:$PORT" NC_OUT="$T/shots" NC_CHROMIUM="$CHROMIUM" NC_HOSTS=3 NC_OIDC="$OIDC" \
NC_TOKEN_VIEWER="${TOK[viewer]}" NC_TOKEN_OPERATOR="${TOK[operator]}" NC_TOKEN_ADMIN="${TOK[admin]}" \
NC_XSS_COMMIT="$XSS_COMMIT" NC_XSS_AUDIT="$XSS_PATH" NC_XSS_VM=web-1 \
	timeout 300 node test/browser/dashboard.mjs >"$T/browser.log" 2>&1
rc=$?
grep -E '^(ok|FAIL|skip|figure)' "$T/browser.log"
fails=$((fails + $(grep -c '^FAIL' "$T/browser.log")))
if [ $rc -ne 0 ] && ! grep -q '^FAIL' "$T/browser.log"; then
	tail -30 "$T/browser.log"; fail "the browser test ended with $rc"
fi

# the approved plan is applied by the next pass: the VMs are on the simulated hosts
applied=
for _ in $(seq 150); do
	if "$NC" sim --state-dir "$T/state" kvm3 list 2>/dev/null | grep -q '^db-1 '; then applied=1; break; fi
	sleep 0.2
done
if [ -n "$applied" ]; then
	ok "the approved plan was applied: db-1 runs on the simulated host kvm3"
else
	tail -20 "$T/serve.log"; fail "the approved plan was not applied (db-1 not on kvm3)"
fi
stop_serve
if [ -n "$PROVIDER" ]; then kill "$PROVIDER" 2>/dev/null; wait "$PROVIDER" 2>/dev/null; PROVIDER=; fi

if [ "${UPDATE_SCREENSHOTS:-0}" = 1 ]; then
	mkdir -p docs/img
	for s in login overview-applied overview-dark vms vm-detail-applied plan passes audit; do
		[ -f "$T/shots/$s.png" ] && cp "$T/shots/$s.png" "docs/img/dashboard-${s%-applied}.png"
	done
	say "screenshots copied to docs/img/"
fi

# ---- 2. 500 hosts, 10,000 VMs: first render times
say "500 hosts, 10,000 VMs"
mkdir -p "$T/big/spec" "$T/big/state"
awk 'BEGIN { for (h = 1; h <= 500; h++)
	printf "apiVersion: novacron.io/v1\nkind: Host\nmetadata:\n  name: h%03d\n  labels: {zone: z%d}\nspec:\n  uri: sim:///h%03d\n---\n", h, h % 5, h }' \
	>"$T/big/spec/hosts.yaml"
awk 'BEGIN { for (v = 1; v <= 10000; v++)
	printf "apiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: %s-%05d\n  labels: {app: app%d}\nspec:\n  vcpus: %d\n  memory: %dMiB\n---\n", (v % 3 ? "web" : "db"), v, v % 20, 1 + (v % 7 == 0), 64 * (1 + v % 4) }' \
	>"$T/big/spec/vms.yaml"
"$NC" token create perf --role viewer --state-dir "$T/big/state" 2>/dev/null | grep -E '^nc_' >"$T/big/token"
if "$NC" apply --auto-approve --parallel 16 --state-dir "$T/big/state" "$T/big/spec" >"$T/big/apply.log" 2>&1; then
	ok "10,000 VMs created on 500 simulated hosts"
else
	tail -5 "$T/big/apply.log"; fail "apply of the 10,000 VMs"
fi
PORT=$(free_port)
printf 'source:\n  directory: %s\ncacheDir: %s\nstateDir: %s\ninterval: 1h\ndriftInterval: 1h\nlisten: 127.0.0.1:%s\napply: {mode: approve}\nha: {enabled: false}\ntelemetry: {enabled: false}\n' \
	"$T/big/spec" "$T/big/cache" "$T/big/state" "$PORT" >"$T/big/serve.yaml"
if start_serve "$T/big/serve.yaml" "$T/big/serve.log"; then
	for _ in $(seq 600); do
		api /api/v1/cluster "$(cat "$T/big/token")" 2>/dev/null | grep -q '"vms": *10000' && break
		sleep 0.2
	done
	NC_MODE=perf NC_URL="http://127.0.0.1:$PORT" NC_OUT="$T/shots" NC_CHROMIUM="$CHROMIUM" \
	NC_TOKEN_VIEWER="$(cat "$T/big/token")" timeout 300 node test/browser/dashboard.mjs >"$T/perf.log" 2>&1
	grep -E '^(ok|FAIL|figure)' "$T/perf.log"
	fails=$((fails + $(grep -c '^FAIL' "$T/perf.log")))
	grep -qE '^(ok|FAIL)' "$T/perf.log" || { tail -20 "$T/perf.log"; fail "the 10,000 VM browser run"; }
	if [ "${UPDATE_SCREENSHOTS:-0}" = 1 ]; then
		for s in overview; do
			[ -f "$T/shots/perf-$s.png" ] && cp "$T/shots/perf-$s.png" "docs/img/dashboard-500-hosts-$s.png"
		done
	fi
else
	fail "serve did not start on the 10,000 VM spec"
fi
stop_serve

[ "$fails" -eq 0 ]
