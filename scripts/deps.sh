#!/usr/bin/env bash
# Installs the Debian 12 packages NovaCron needs to build and test, when
# missing.  Uses sudo when not root.  Safe to run again.
set -euo pipefail

PKGS=(
  build-essential cmake pkg-config git
  libyaml-dev libxml2-dev libvirt-dev libvirt0 libssl-dev check libsubunit-dev
  libgit2-dev libmicrohttpd-dev libcurl4-openssl-dev librados-dev libzstd-dev openssh-client curl
  librbd-dev                 # RBD pools and disks (librados-dev above: leases, backups)
  clang
  libisofs-dev               # cloud-init NoCloud seeds: ISO 9660 images labelled cidata
  libnbd-dev qemu-utils      # disk images: read and write guest disks through NBD (qemu-nbd, libvirt backups)
  librrd-dev rrdcached       # telemetry history in RRD files, through rrdcached when configured
  prometheus                 # promtool: the tests check /metrics with `promtool check metrics` (the server is not started)
  borgbackup restic          # peers for bench/backup (not needed to build)
  libjson-c-dev              # parsing JSON: API request bodies, OIDC discovery, tokens and JWKS
  python3-jsonschema python3-yaml   # test/integration/api-openapi.sh: the API's answers against docs/openapi.yaml
  groff-base man-db zsh      # test_clihelp: lints the man pages (groff -ww), renders one (man -l), runs the zsh completion
)
# the OIDC test provider (test/oidc/provider.mjs) runs on Node.js: Debian's
# nodejs when no node is on PATH
command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
# the dashboard's browser test (test/integration/dashboard.sh): npm installs
# playwright-core from test/browser/package-lock.json; the browser is Debian's
# Chromium, installed when it can be (without it that test is skipped, saying so)
command -v npm >/dev/null 2>&1 || PKGS+=(npm)
OPTIONAL=(chromium)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
opt_missing=()
for p in "${OPTIONAL[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || opt_missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && [ ${#opt_missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps: installing ${missing[*]} ${opt_missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
[ ${#missing[@]} -eq 0 ] || $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ ${#opt_missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${opt_missing[@]}" >/dev/null 2>&1 ||
    echo "deps: could not install ${opt_missing[*]}: the dashboard's browser test will be skipped" >&2
fi
# prometheus is installed for promtool alone: a package that was not here
# before must not leave a Prometheus server running (it would take port
# 9090, serve's default) or starting at boot
for p in "${missing[@]}"; do
  if [ "$p" = prometheus ] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
done
