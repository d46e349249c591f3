#!/usr/bin/env bash
# Integration test of Images (kind Image) on two real libvirt daemons, with the novacron CLI:
#   a file image (in the operator's paths.images) and a URL image (served by a real HTTP
#   server on loopback, python3 -m http.server, started here and stopped by PID) are
#   uploaded into the dir pool of each host a VM is placed on (one upload per host and
#   pool, in parallel); the VM disks are qcow2 copy-on-write clones of those volumes
#   (qemu-img shows the backing file); the next plan reuses them (no changes); a cut-short
#   upload (a volume without its completion mark) is replaced; a wrong sha256 of a file is
#   a plan error; a URL whose bytes have another sha256 fails apply and keeps nothing; a
#   URL that 404s is a plan error; a redirect to file:// is refused by plan and apply.
# Uses test/testbed/libvirtd.sh. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-it-images-XXXXXX)
LV=$T/lv
HTTP_PID=
REDIR_PID=
fails=0

cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	[ -n "$REDIR_PID" ] && kill "$REDIR_PID" 2>/dev/null && wait "$REDIR_PID" 2>/dev/null
	bash test/testbed/libvirtd.sh down "$LV" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

bash test/testbed/deps.sh || { echo "skip: cannot install the testbed packages"; exit 77; }
if ! why=$(bash test/testbed/libvirtd.sh check 2>&1); then
	echo "skip: $why"
	exit 77
fi
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "skip: $PY is missing (test/testbed/deps.sh installs python3)"; exit 77; }
NC_LV_ADDR_PREFIX=${NC_LV_ADDR_PREFIX:-127.0.105} NC_LV_MIG_PORT_BASE=${NC_LV_MIG_PORT_BASE:-50500} \
	bash test/testbed/libvirtd.sh up 2 "$LV" >"$T/up.log" 2>&1 ||
	{ cat "$T/up.log"; echo "FAIL: libvirtd.sh up"; exit 1; }
set -a; eval "$(bash test/testbed/libvirtd.sh env "$LV")"; set +a
mkdir -p "$T/images" "$T/www" "$T/spec"
# the pool is a directory of each host: /var/lib/libvirt/images/... is each daemon's own
# (libvirtd.sh bind-mounts $LV/hN/lib there), as a real host's local disk would be
POOL=/var/lib/libvirt/images/nc-it-images
{ cat "$NC_CONNECTIONS"; printf 'paths:\n  pools: ["/var/lib/libvirt/images"]\n  images: ["%s/images"]\n' "$T"; } >"$T/novacron.yaml"
export NOVACRON_CONFIG=$T/novacron.yaml

ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
nc()   { "$NC" "$@" "$T/spec" --state-dir "$T/st"; }
sum()  { sha256sum "$1" | cut -c1-64; }

# the HTTP server: a free port on loopback, serving $T/www
PORT=$((20000 + $$ % 20000))
(cd "$T/www" && exec "$PY" -m http.server --bind 127.0.0.1 "$PORT") >"$T/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do
	curl -fsS -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break
	sleep 0.1
done

# a qcow2 image (a file in paths.images) and a raw one (served over HTTP), known bytes
qemu-img create -q -f qcow2 "$T/images/base.qcow2" 48M
qemu-io -f qcow2 -c 'write -P 0x11 0 1M' -c 'write -P 0x22 40M 2M' "$T/images/base.qcow2" >/dev/null
qemu-img create -q -f raw "$T/www/web.raw" 16M
qemu-io -f raw -c 'write -P 0x33 0 1M' -c 'write -P 0x44 12M 1M' "$T/www/web.raw" >/dev/null
BASE_SUM=$(sum "$T/images/base.qcow2")
WEB_SUM=$(sum "$T/www/web.raw")

# spec BASE_SHA WEB_SHA WEB_FILE [VMS...]: hosts, pool, two Images, VMs NAME:HOST:IMAGE (stopped)
spec() {
	local base=$1 web=$2 webf=$3 v name host img
	shift 3
	cat >"$T/spec/cluster.yaml" <<YAML
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h1}
spec: {uri: "$NC_HOST1_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: Host
metadata: {name: h2}
spec: {uri: "$NC_HOST2_SPEC_URI"}
---
apiVersion: novacron.io/v1
kind: StoragePool
metadata: {name: local}
spec: {type: dir, path: "$POOL"}
---
apiVersion: novacron.io/v1
kind: Image
metadata: {name: base}
spec:
  source: {file: base.qcow2}
  sha256: $base
---
apiVersion: novacron.io/v1
kind: Image
metadata: {name: web}
spec:
  source: {url: "http://127.0.0.1:$PORT/$webf"}
  sha256: $web
  format: raw
YAML
	for v in "$@"; do
		IFS=: read -r name host img <<<"$v"
		cat >>"$T/spec/cluster.yaml" <<YAML
---
apiVersion: novacron.io/v1
kind: VM
metadata: {name: $name}
spec:
  vcpus: 1
  memory: 64MiB
  machine: pc
  state: stopped
  placement: {host: $host}
  disks:
    - {name: root, pool: local, size: 64MiB, image: $img}
YAML
	done
}
P1=$LV/h1/lib/images/nc-it-images   # h1's pool seen from here
P2=$LV/h2/lib/images/nc-it-images
in_h1() { nsenter --mount="/proc/$(cat "$LV/h1/libvirtd.pid")/ns/mnt" "$@"; }
BASE_VOL=novacron-image-base-${BASE_SUM:0:12}.qcow2
WEB_VOL=novacron-image-web-${WEB_SUM:0:12}.raw

# 1. plan: one upload per (host, pool, image), before the creates that need it
spec "$BASE_SUM" "$WEB_SUM" web.raw a:h1:base b:h2:base c:h1:web
nc plan >"$T/p1.log" 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "image base: upload on h1 into pool local" "$T/p1.log" &&
	grep -q "image base: upload on h2 into pool local" "$T/p1.log" &&
	grep -q "image web: upload on h1 into pool local" "$T/p1.log" &&
	[ "$(grep -c 'image web: upload' "$T/p1.log")" = 1 ] &&
	grep -q "3 images to upload" "$T/p1.log" &&
	grep -q "downloaded by apply" "$T/p1.log" &&
	ok "plan: base goes to h1 and h2, web to h1 only, each once" || { cat "$T/p1.log"; fail "plan uploads (exit $rc)"; }
grep -A6 "a: create on h1" "$T/p1.log" | grep -q "after: #1" && ok "the create waits for its image" ||
	{ cat "$T/p1.log"; fail "create after upload"; }
! [ -e "$T/st/images/$WEB_SUM" ] &&
	ok "plan downloads nothing" || fail "plan downloaded"

# 2. apply: the uploads, then the clones
nc apply --auto-approve >"$T/a1.log" 2>&1 && grep -q "Apply complete: 6 done, 0 failed" "$T/a1.log" &&
	ok "apply uploads 3 volumes and creates 3 VMs" || { cat "$T/a1.log"; fail "apply"; }
grep -q "image web: .* downloaded and verified" "$T/a1.log" && [ -f "$T/st/images/$WEB_SUM" ] &&
	cmp -s "$T/st/images/$WEB_SUM" "$T/www/web.raw" && ok "the URL image is downloaded once into the cache" ||
	fail "URL cache"
cmp -s "$P1/$BASE_VOL" "$T/images/base.qcow2" && cmp -s "$P2/$BASE_VOL" "$T/images/base.qcow2" &&
	ok "the uploaded volumes on h1 and h2 are the image, byte for byte" || fail "uploaded bytes"
[ -e "$P1/$BASE_VOL.ok" ] && [ -e "$P2/$BASE_VOL.ok" ] && ! [ -e "$P2/$WEB_VOL" ] &&
	ok "with their completion marks; web is only where a VM needs it" || fail "completion marks"
# whole outputs first (a grep -q that leaves a pipe early is a SIGPIPE under pipefail), shown on failure
vl=$(virsh -c "$NC_HOST2_URI" vol-list novacron-local 2>&1) || true
vx=$(virsh -c "$NC_HOST2_URI" vol-dumpxml --pool novacron-local "$BASE_VOL" 2>&1) || true
grep -q "$BASE_VOL" <<<"$vl" && grep -q "<format type='qcow2'/>" <<<"$vx" &&
	ok "h2's daemon holds the volume, format qcow2" || { printf '%s\n%s\n' "$vl" "$vx"; fail "h2 volume"; }
qemu-img info -U "$P1/a-root.qcow2" | grep -q "backing file: $POOL/$BASE_VOL" &&
	qemu-img info -U "$P1/a-root.qcow2" | grep -q "backing file format: qcow2" &&
	ok "VM a's disk is a copy-on-write clone of the uploaded volume" || { qemu-img info -U "$P1/a-root.qcow2"; fail "clone a"; }
qemu-img info -U "$P2/b-root.qcow2" | grep -q "backing file: $POOL/$BASE_VOL" &&
	ok "VM b's disk on h2 too" || { qemu-img info -U "$P2/b-root.qcow2"; fail "clone b"; }
out=$(in_h1 qemu-io -r -f qcow2 -c 'read -P 0x44 12M 1M' -c 'read -P 0x33 0 1M' "$POOL/c-root.qcow2" 2>&1)
qemu-img info -U "$P1/c-root.qcow2" | grep -q "backing file: $POOL/$WEB_VOL" && ! grep -q "fail" <<<"$out" &&
	grep -q "read 1048576/1048576 bytes" <<<"$out" &&
	ok "VM c's disk reads the URL image's bytes through its backing file" || { echo "$out"; fail "clone c"; }
[ "$(stat -c %s "$P1/a-root.qcow2")" -lt 2000000 ] && ok "the clone holds no copy ($(stat -c %s "$P1/a-root.qcow2") bytes)" ||
	fail "clone size"

# 3. the next plan reuses everything
nc plan >"$T/p2.log" 2>&1; rc=$?
[ $rc -eq 0 ] && grep -q "No changes" "$T/p2.log" && ok "second plan: no changes (volumes reused)" ||
	{ cat "$T/p2.log"; fail "second plan (exit $rc)"; }
spec "$BASE_SUM" "$WEB_SUM" web.raw a:h1:base b:h2:base c:h1:web d:h2:base
nc apply --auto-approve >"$T/a2.log" 2>&1 && grep -q "Apply complete: 1 done" "$T/a2.log" &&
	! grep -q "upload image" "$T/a2.log" && ok "a new VM on h2 reuses h2's volume (no upload)" ||
	{ cat "$T/a2.log"; fail "reuse"; }

# 4. a cut-short upload: the volume is there, its mark is not -> replaced
virsh -c "$NC_HOST2_URI" vol-delete --pool novacron-local "$WEB_VOL.ok" >/dev/null 2>&1
virsh -c "$NC_HOST2_URI" vol-create-as novacron-local "$WEB_VOL" 1M --format raw >/dev/null 2>&1
spec "$BASE_SUM" "$WEB_SUM" web.raw a:h1:base b:h2:base c:h1:web d:h2:base e:h2:web
nc plan >"$T/p3.log" 2>&1
grep -q "has no completion mark (an upload cut short): replaced" "$T/p3.log" &&
	ok "plan: a volume without completion mark is replaced" || { cat "$T/p3.log"; fail "partial volume plan"; }
nc apply --auto-approve >"$T/a3.log" 2>&1 && cmp -s "$P2/$WEB_VOL" "$T/www/web.raw" &&
	ok "apply replaces it with the whole image" || { cat "$T/a3.log"; fail "partial volume apply"; }

# 5. bad input
# a file whose sha256 is not the spec's: plan error, exit 1
BAD=$(printf '%064d' 0)
spec "$BAD" "$WEB_SUM" web.raw a:h1:base f:h1:base
nc plan >"$T/p4.log" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "error: Image base (for VM f): .*has sha256 $BASE_SUM, not the $BAD" "$T/p4.log" &&
	ok "plan: a file with another sha256 is an error (exit 1)" || { cat "$T/p4.log"; fail "file sha256 (exit $rc)"; }
# a URL whose bytes have another sha256 than the spec's: apply fails, nothing kept, VM not created
cp "$T/www/web.raw" "$T/www/other.raw"
qemu-io -f raw -c 'write -P 0x55 2M 4k' "$T/www/other.raw" >/dev/null
OTHER_SUM=$(sum "$T/www/other.raw")
spec "$BASE_SUM" "$OTHER_SUM" web.raw a:h1:base g:h2:web
nc apply --auto-approve >"$T/a5.log" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "has sha256 $WEB_SUM, not the $OTHER_SUM the spec gives; the download was discarded" "$T/a5.log" &&
	! ls "$T/st/images" | grep -q "part\|$OTHER_SUM" && ! virsh -c "$NC_HOST2_URI" dominfo g >/dev/null 2>&1 &&
	grep -q "create g on h2 ... skipped" "$T/a5.log" &&
	ok "apply: a URL with other bytes fails, keeps nothing, creates no VM" || { cat "$T/a5.log"; ls -la "$T/st/images"; fail "URL sha256 (exit $rc)"; }
# a URL that 404s: plan error
spec "$BASE_SUM" "$OTHER_SUM" missing.raw a:h1:base g:h2:web
nc plan >"$T/p6.log" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "error: Image web: http://127.0.0.1:$PORT/missing.raw cannot be downloaded: HTTP 404" "$T/p6.log" &&
	ok "plan: a URL that 404s is an error (exit 1)" || { cat "$T/p6.log"; fail "404 (exit $rc)"; }
# a server that redirects every request to file:///etc/passwd: refused, never followed
cat >"$T/redir.py" <<'PY'
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(302); self.send_header("Location", "file:///etc/passwd"); self.end_headers()
    do_HEAD = do_GET
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
RPORT=$((PORT + 1))
"$PY" "$T/redir.py" "$RPORT" >"$T/redir.log" 2>&1 &
REDIR_PID=$!
for _ in $(seq 50); do curl -sS -o /dev/null "http://127.0.0.1:$RPORT/" 2>/dev/null && break; sleep 0.1; done
spec "$BASE_SUM" "$OTHER_SUM" x.raw a:h1:base g:h2:web
sed -i "s|http://127.0.0.1:$PORT/x.raw|http://127.0.0.1:$RPORT/x.raw|" "$T/spec/cluster.yaml"
nc plan >"$T/p8.log" 2>&1; rc=$?
[ $rc -eq 1 ] && grep -q "error: Image web: http://127.0.0.1:$RPORT/x.raw cannot be downloaded: " "$T/p8.log" &&
	! grep -q "root:" "$T/p8.log" && ok "plan: a redirect to file:// is refused (exit 1), nothing read" ||
	{ cat "$T/p8.log"; fail "redirect to file:// (exit $rc)"; }
rm -f "$T/st/images/$OTHER_SUM"
nc apply --auto-approve >"$T/a8.log" 2>&1; rc=$?
[ $rc -eq 1 ] && ! ls "$T/st/images" | grep -q "$OTHER_SUM" && ! grep -q "root:" "$T/a8.log" &&
	ok "apply: the same refusal, nothing downloaded" || { cat "$T/a8.log"; fail "redirect apply (exit $rc)"; }
kill "$REDIR_PID" 2>/dev/null && wait "$REDIR_PID" 2>/dev/null
REDIR_PID=

# the fixed spec converges
spec "$BASE_SUM" "$OTHER_SUM" other.raw a:h1:base g:h2:web
nc apply --auto-approve >"$T/a7.log" 2>&1 && nc plan >/dev/null 2>&1 &&
	ok "the corrected spec converges" || { cat "$T/a7.log"; fail "converge"; }

kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
HTTP_PID=
[ $fails -eq 0 ]
