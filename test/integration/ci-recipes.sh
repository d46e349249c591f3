#!/usr/bin/env bash
# The CI recipes of examples/ci/ run locally: test/ci/run-recipe.py parses
# each with python3-yaml and runs its own `run:` / `script:` steps with bash
# in a scratch workspace (clusters/prod: the quickstart on simulated hosts),
# novacron on PATH, and the forge's API at test/ci/forge.py, a real HTTP
# listener on 127.0.0.1 standing in for GitHub's and GitLab's REST
# endpoints.  Checks: annotations (GitHub) and a Code Quality report
# (GitLab) for a broken spec, the plan comment posted once then updated
# (never duplicated), a plan too long for a comment bounded with the count
# of what is left out and kept whole as the artifact, a 2 (changes) that
# fails no job, the token never printed.  Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
NC=${NC:-$ROOT/build/novacron}
T=$(mktemp -d /tmp/nc-ci-recipes-XXXXXX)
FORGE=
cleanup() {
	if [ -n "$FORGE" ]; then kill "$FORGE" 2>/dev/null && wait "$FORGE" 2>/dev/null; fi
	rm -rf "$T"
}
trap cleanup EXIT

python3 -c 'import yaml' 2>/dev/null || { echo "skip: python3-yaml missing (scripts/deps.sh)"; exit 77; }
[ -x "$NC" ] || { echo "FAIL: no $NC (build first)"; exit 1; }

fails=0
ok() { echo "ok $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
check() {   # check DESCRIPTION COMMAND...
	local what=$1; shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

TOKEN=ci-token-$RANDOM-secret
mkdir -p "$T/bin" "$T/forge"
ln -s "$NC" "$T/bin/novacron"
printf 'connections: []\n' >"$T/ci-config.yaml"     # the runner's file: sim hosts need no connection
FORGE_TOKEN=$TOKEN FORGE_PAGE_SIZE=2 python3 test/ci/forge.py "$T/forge" >"$T/forge.log" 2>&1 &
FORGE=$!
for _ in $(seq 100); do [ -s "$T/forge/port" ] && break; sleep 0.05; done
PORT=$(cat "$T/forge/port") || { fail "the forge did not start"; exit 1; }
API=http://127.0.0.1:$PORT

# workspace NAME SPEC...: a checkout with clusters/prod holding the quickstart (+ extra files)
workspace() {
	local ws=$T/ws-$1
	rm -rf "$ws"
	mkdir -p "$ws/clusters"
	cp -r examples/quickstart "$ws/clusters/prod"
	echo "$ws"
}

gh() {   # gh WORKSPACE: the GitHub workflow, as a pull_request event on acme/infra#12
	mkdir -p "$T/tmp"; TMPDIR=$T/tmp PATH=$T/bin:$PATH python3 test/ci/run-recipe.py examples/ci/github-actions.yml "$1" \
		"secrets.GITHUB_TOKEN=$TOKEN" "vars.NOVACRON_DEB_URL=$API/never-fetched.deb" \
		"vars.NOVACRON_CI_CONFIG=$T/ci-config.yaml" "runner.temp=$1/.runner" \
		"github.event.pull_request.number=12" GITHUB_REPOSITORY=acme/infra "GITHUB_API_URL=$API"
}
gl() {   # gl WORKSPACE: the GitLab pipeline, as a merge request event on acme/infra!12
	mkdir -p "$T/tmp"; TMPDIR=$T/tmp PATH=$T/bin:$PATH python3 test/ci/run-recipe.py examples/ci/gitlab-ci.yml "$1" \
		"NOVACRON_GITLAB_TOKEN=$TOKEN" "NOVACRON_DEB_URL=$API/never-fetched.deb" \
		"NOVACRON_CI_CONFIG=$T/ci-config.yaml" CI_PIPELINE_SOURCE=merge_request_event \
		CI_PROJECT_ID=42 CI_MERGE_REQUEST_IID=12 "CI_API_V4_URL=$API/api/v4"
}
comments() {   # comments THREAD: how many of ours (the prod marker) the forge holds
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["threads"].get(sys.argv[2], []); print(sum(1 for c in t if c["body"].startswith("<!-- novacron:plan:prod -->\n") and not c.get("system")))' "$T/forge/comments.json" "$1"
}
body() {   # body THREAD: our comment's body
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["threads"][sys.argv[2]]; sys.stdout.write([c["body"] for c in t if c["body"].startswith("<!-- novacron:plan:prod -->\n") and not c.get("system")][0])' "$T/forge/comments.json" "$1"
}

# ---- a broken spec: annotations, the job fails, nothing is planned or posted ----
WS=$(workspace broken)
cat >"$WS/clusters/prod/bad.yaml" <<'YAML'
apiVersion: novacron.io/v1
kind: VM
metadata:
  name: broken-1
spec:
  template: smal
  memory: 2GiB
YAML
gh "$WS" >"$T/gh-broken.out" 2>&1; rc=$?
check "github: a broken spec fails the workflow" test $rc -eq 1
check "github: one ::error annotation at the file and line" \
	grep -q "^::error file=clusters/prod/bad.yaml,line=6,col=13,title=novacron validate::no Template named 'smal'" "$T/gh-broken.out"
check "github: the plan job is skipped when validate fails" grep -q "^step plan: skipped" "$T/gh-broken.out"
gl "$WS" >"$T/gl-broken.out" 2>&1; rc=$?
check "gitlab: a broken spec fails the pipeline" test $rc -eq 1
check "gitlab: a Code Quality report with the problem at its line" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
e = [x for x in r if x["location"]["path"] == "clusters/prod/bad.yaml"]
assert len(e) == 1 and e[0]["location"]["lines"]["begin"] == 6 and e[0]["severity"] == "major", r
assert "smal" in e[0]["description"] and len(e[0]["fingerprint"]) == 64
' "$WS/gl-code-quality.json"
check "nothing posted for a broken spec" test ! -e "$T/forge/comments.json"

# ---- a valid spec: the plan posted once, then updated ----
WS=$(workspace good)
for run in 1 2; do
	gh "$WS" >"$T/gh-$run.out" 2>&1; rc=$?
	check "github run $run: changes (plan exit 2) fail no job" test $rc -eq 0
	check "github run $run: the plan step ran and said exit 2" grep -q "^plan: exit 2" "$T/gh-$run.out"
	check "github run $run: the whole plan is kept for the artifact" grep -q "^### NovaCron plan: 13 to create" "$WS/plan-full.md"
	gl "$WS" >"$T/gl-$run.out" 2>&1; rc=$?
	check "gitlab run $run: changes fail no job" test $rc -eq 0
	check "gitlab run $run: an empty Code Quality report for a valid spec" python3 -c 'import json,sys; assert json.load(open(sys.argv[1])) == []' "$WS/gl-code-quality.json"
done
check "github: the first run posted the comment" grep -q "posted comment [0-9]* on acme/infra#12" "$T/gh-1.out"
check "github: the second run updated it" grep -q "updated comment [0-9]* on acme/infra#12" "$T/gh-2.out"
check "github: one plan comment on the pull request, not two" test "$(comments 'github:acme/infra#12')" = 1
check "gitlab: the first run posted the note" grep -q "posted note [0-9]* on 42!12" "$T/gl-1.out"
check "gitlab: the second run updated it" grep -q "updated note [0-9]* on 42!12" "$T/gl-2.out"
check "gitlab: one plan note on the merge request, not two" test "$(comments 'gitlab:acme/infra!12')" = 1
check "the comment is the plan with its marker" test "$(body 'github:acme/infra#12' | head -2 | tail -1 | cut -c1-36)" = "### NovaCron plan: 13 to create, 0 t"

# ---- a plan too long for a comment: bounded, the rest counted, the whole one kept ----
WS=$(workspace big)
python3 - "$WS/clusters/prod/vms/many.yaml" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(600):
        f.write("---\napiVersion: novacron.io/v1\nkind: VM\nmetadata:\n  name: batch-%03d\n"
                "  labels: {app: batch}\nspec:\n  template: small\n  vcpus: 1\n  memory: 64MiB\n" % i)
PY
sed -i 's|uri: sim:///\(kvm[0-9]\)$|uri: sim:///\1?cpus=512\&memory=1TiB|' "$WS/clusters/prod/hosts/hosts.yaml"
gh "$WS" >"$T/gh-big.out" 2>&1; rc=$?
check "github big: the workflow passes" test $rc -eq 0
check "github big: the comment was updated, not added" test "$(comments 'github:acme/infra#12')" = 1
body 'github:acme/infra#12' >"$T/big-body.md"
check "github big: the comment is under 60,000 bytes" test "$(wc -c <"$T/big-body.md")" -le 60000
check "github big: it says how many actions are left out and where the plan is" \
	grep -Eq '^\.\.\. and [0-9]+ more actions \([0-9]+ bytes\): the full plan is in the job.s artifacts' "$T/big-body.md"
check "github big: the artifact holds every action" test "$(grep -c '^| [0-9]* | `+` | `batch-' "$WS/plan-full.md")" = 600
check "github big: the artifact is over the comment limit" test "$(wc -c <"$WS/plan-full.md")" -gt 65536

# ---- a plan that cannot read a host (exit 1): commented all the same, then the job fails ----
WS=$(workspace partial)
cat >>"$WS/clusters/prod/hosts/hosts.yaml" <<'YAML'
---
apiVersion: novacron.io/v1
kind: Host
metadata:
  name: kvm9
spec:
  uri: qemu+tcp://127.0.0.1:1/system
YAML
gh "$WS" >"$T/gh-partial.out" 2>&1; rc=$?
check "github partial: the workflow fails (plan exit 1)" test $rc -eq 1
check "github partial: the comment step ran before the failure" grep -q "^step plan/Comment the plan on the pull request: ok" "$T/gh-partial.out"
check "github partial: the last step failed the job with an annotation" grep -q "^::error title=novacron plan::" "$T/gh-partial.out"
body 'github:acme/infra#12' >"$T/partial-body.md"
check "github partial: the comment says the plan is partial" grep -q '^### NovaCron plan: partial' "$T/partial-body.md"
gl "$WS" >"$T/gl-partial.out" 2>&1; rc=$?
check "gitlab partial: the pipeline fails (plan exit 1)" test $rc -eq 1
check "gitlab partial: the note was updated first" grep -q "updated note [0-9]* on 42!12" "$T/gl-partial.out"
check "still one comment and one note" test "$(comments 'github:acme/infra#12')$(comments 'gitlab:acme/infra!12')" = 11

# ---- the token: never in any output; every request carried it ----
check "the forge recorded the requests" test -s "$T/forge/requests.log"
check "the token is never printed" bash -c "! grep -rq -- '$TOKEN' '$T'/*.out"
check "every request to the forge had the token" bash -c "! grep -q '\"auth_ok\": false' '$T/forge/requests.log'"
check "no hosted action was fetched (installs skipped: novacron on PATH)" bash -c "! grep -q never-fetched '$T/forge/requests.log'"

[ $fails -eq 0 ] || exit 1
