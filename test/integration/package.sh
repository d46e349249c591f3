#!/usr/bin/env bash
# The Debian package and the install rules (cmake/install.cmake), without a
# container: cpack builds the .deb from the CI's build (build/, or $NC_BUILD),
# dpkg installs it into a scratch root with a private admindir and
# --force-script-chrootless, so its postinst runs here with DPKG_ROOT set and
# must create the novacron user in the scratch root's /etc/passwd, not the
# machine's (checked). Then: the installed binary runs, files, owners and
# modes, the conffile survives an upgrade, remove keeps and purge drops the
# data, the man pages render, the completions load, the unit's
# `systemd-analyze security` score, and `make install DESTDIR=` lays out the
# configured prefix. Not root: the .deb is unpacked with dpkg-deb -x and the
# postinst checks are skipped, saying so. Exit 0 passed, 1 failed, 77 skipped.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
B=${NC_BUILD:-$ROOT/build}
T=$(mktemp -d /tmp/nc-pkg-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
# check NAME CMD...: ok when CMD succeeds
check() {
	local name=$1; shift
	if "$@" >"$T/out" 2>&1; then ok "$name"; else fail "$name"; sed 's/^/    /' "$T/out" | head -20; fi
}

for p in cpack dpkg dpkg-deb dpkg-shlibdeps; do
	command -v "$p" >/dev/null || { echo "skip: $p missing (cmake, dpkg-dev: scripts/deps.sh)"; exit 77; }
done
[ -x "$B/novacron" ] && [ -f "$B/CPackConfig.cmake" ] || { echo "FAIL: no $B/novacron or CPackConfig.cmake (build first)"; exit 1; }

# 1. the package
if (cd "$B" && cpack -G DEB -B "$T/pkg") >"$T/cpack.log" 2>&1; then
	ok "cpack -G DEB builds the package"
else
	fail "cpack -G DEB"; tail -20 "$T/cpack.log"; exit 1
fi
DEB=$(ls "$T"/pkg/novacron_*.deb)
dpkg-deb -c "$DEB" | awk '{print $6}' >"$T/files"
lacks=
dpkg-deb -f "$DEB" Depends >"$T/depends"
check "Depends computed by dpkg-shlibdeps (libvirt0, libgit2, passwd)" \
	grep -Eq '(^|, )libvirt0 .*libgit2|(^|, )passwd' "$T/depends"
grep -q 'libvirt0' "$T/depends" || fail "Depends lacks libvirt0: $(cat "$T/depends")"
dpkg-deb -e "$DEB" "$T/control"
check "conffiles: /etc/novacron/serve.yaml" grep -qx /etc/novacron/serve.yaml "$T/control/conffiles"
check "maintainer scripts are executable" test -x "$T/control/postinst" -a -x "$T/control/postrm" -a -x "$T/control/prerm"
check "every file in the package belongs to root" sh -c "! dpkg-deb -c '$DEB' | awk '{print \$2}' | grep -v '^root/root$'"
for f in ./usr/bin/novacron ./usr/share/man/man1/novacron.1 ./usr/share/man/man5/novacron-spec.5 \
	./usr/share/bash-completion/completions/novacron ./usr/share/zsh/vendor-completions/_novacron \
	./lib/systemd/system/novacron.service ./etc/novacron/serve.yaml ./usr/share/doc/novacron/install.md \
	./usr/share/doc/novacron/operations.md ./usr/share/doc/novacron/novacron.schema.json \
	./usr/share/doc/novacron/examples/quickstart/infra.yaml; do
	grep -qxF "$f" "$T/files" || lacks="$lacks $f"
done
[ -z "$lacks" ] && ok "the package holds the binary, man pages, completions, unit, serve.yaml, docs, examples" ||
	fail "the package lacks$lacks"

# 2. installed into a scratch root
R=$T/root
mkdir -p "$R/etc" "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
printf 'root:x:0:0:root:/root:/bin/bash\n' >"$R/etc/passwd"
printf 'root:x:0:\nlibvirt:x:970:\n' >"$R/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$R/etc/shadow"
printf 'root:*::\nlibvirt:!::\n' >"$R/etc/gshadow"
chmod 0640 "$R/etc/shadow" "$R/etc/gshadow"
hostsum=$(cat /etc/passwd /etc/group | md5sum)
dpkg_r() {
	dpkg --root="$R" --admindir="$R/var/lib/dpkg" --force-script-chrootless --force-depends \
		--force-confdef --force-confold "$@" </dev/null
}
asroot=0
if [ "$(id -u)" -eq 0 ]; then
	asroot=1
	check "dpkg --root installs it (postinst with DPKG_ROOT)" dpkg_r -i "$DEB"
else
	echo "skip: not root: dpkg-deb -x instead of dpkg --root; postinst (user, owners) not run"
	dpkg-deb -x "$DEB" "$R"
fi
check "installed binary: novacron --version" "$R/usr/bin/novacron" --version
check "installed binary validates the installed examples/quickstart" \
	"$R/usr/bin/novacron" validate --quiet "$R/usr/share/doc/novacron/examples/quickstart"
modes() { stat -c '%a %U:%G' "$1" 2>/dev/null || echo missing; }
if [ $asroot = 1 ]; then
	[ "$(cat /etc/passwd /etc/group | md5sum)" = "$hostsum" ] &&
		ok "the machine's /etc/passwd and /etc/group are untouched" ||
		fail "postinst changed the machine's /etc/passwd or /etc/group"
	pw=$(grep '^novacron:' "$R/etc/passwd")
	uid=$(cut -d: -f3 <<<"$pw"); gid=$(grep '^novacron:' "$R/etc/group" | cut -d: -f3)
	[ -n "$pw" ] && [ "$uid" -lt 1000 ] && [[ $pw == *:/var/lib/novacron:/usr/sbin/nologin ]] &&
		ok "postinst made the system user novacron (uid $uid) in the root's /etc/passwd" ||
		fail "no system user novacron in $R/etc/passwd: '$pw'"
	check "novacron is in the root's libvirt group" grep -Eq '^libvirt:x:970:(.*,)?novacron(,|$)' "$R/etc/group"
	for want in "etc/novacron 750 0:$gid" "var/lib/novacron 750 $uid:$gid" "var/cache/novacron 750 $uid:$gid" \
		"var/log/novacron 750 $uid:$gid" "etc/novacron/serve.yaml 640 0:$gid" "usr/bin/novacron 755 0:0"; do
		set -- $want
		got=$(stat -c '%a %u:%g' "$R/$1" 2>/dev/null || echo missing)
		[ "$got" = "$2 $3" ] && ok "/$1 is $2 $3" || fail "/$1 is '$got', want '$2 $3'"
	done
	conff=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Conffiles}' novacron)
	[[ $conff == *"/etc/novacron/serve.yaml "* ]] && ok "dpkg records /etc/novacron/serve.yaml as a conffile" ||
		fail "conffiles recorded: '$conff'"
	# upgrade (the same version again): an edited conffile is kept; a second postinst changes nothing
	echo "# edited by the operator" >>"$R/etc/novacron/serve.yaml"
	: >"$R/var/lib/novacron/state-marker"
	cp "$R/etc/passwd" "$T/passwd.before"
	check "dpkg --root installs it again (upgrade)" dpkg_r -i "$DEB"
	check "upgrade: the operator's edit of serve.yaml is kept" grep -q 'edited by the operator' "$R/etc/novacron/serve.yaml"
	check "upgrade: postinst adds no second user" cmp "$T/passwd.before" "$R/etc/passwd"
	check "remove" dpkg_r -r novacron
	[ ! -e "$R/usr/bin/novacron" ] && [ -e "$R/var/lib/novacron/state-marker" ] &&
		[ -e "$R/etc/novacron/serve.yaml" ] && ok "remove: binary gone, state and configuration kept" ||
		fail "remove: $(ls -d "$R"/usr/bin/novacron "$R"/var/lib/novacron/state-marker "$R"/etc/novacron/serve.yaml 2>&1)"
	check "purge" dpkg_r -P novacron
	[ ! -e "$R/var/lib/novacron" ] && [ ! -e "$R/etc/novacron" ] && [ ! -e "$R/var/cache/novacron" ] &&
		ok "purge: /var/lib/novacron, /var/cache/novacron, /etc/novacron removed" ||
		fail "purge left $(ls -d "$R"/var/lib/novacron "$R"/etc/novacron "$R"/var/cache/novacron 2>/dev/null)"
	dpkg_r -i "$DEB" >/dev/null 2>&1   # back, for the checks below
fi

# 3. man pages, completions, the unit
if command -v man >/dev/null; then
	for m in man1/novacron.1 man5/novacron-spec.5; do
		MANWIDTH=80 man -P cat -l "$R/usr/share/man/$m" >"$T/man" 2>"$T/man.err"
		[ -s "$T/man" ] && grep -qi novacron "$T/man" && ok "man -l renders $m" ||
			{ fail "man -l $m"; cat "$T/man.err"; }
	done
else
	echo "skip: man is not installed: man pages not rendered"
fi
check "bash completion loads (complete -p novacron)" \
	bash -c "source '$R/usr/share/bash-completion/completions/novacron' && complete -p novacron"
if command -v zsh >/dev/null; then
	check "zsh completion parses (zsh -n)" zsh -n "$R/usr/share/zsh/vendor-completions/_novacron"
else
	echo "skip: zsh is not installed: the zsh completion is not parsed"
fi
U=$R/lib/systemd/system/novacron.service
grep -q '^ExecStart=/usr/bin/novacron serve --config /etc/novacron/serve.yaml$' "$U" &&
	grep -q '^User=novacron$' "$U" && ok "the unit runs /usr/bin/novacron as User=novacron" ||
	fail "the unit's ExecStart/User: $(grep -E '^(ExecStart|User)=' "$U")"
if systemd-analyze security --help 2>/dev/null | grep -q -- --offline; then
	systemd-analyze security --offline=true "$U" >"$T/sec" 2>&1
	score=$(sed -nE 's/.*Overall exposure level for novacron.service: ([0-9.]+) ([A-Z]+).*/\1 \2/p' "$T/sec")
	awk -v s="${score%% *}" 'BEGIN { exit !(s != "" && s + 0 <= 4.9) }' &&
		ok "systemd-analyze security --offline=true: $score (<= 4.9)" || { fail "unit security score '$score'"; tail -3 "$T/sec"; }
else
	echo "skip: systemd-analyze lacks security --offline (systemd < 250): the unit's score not measured"
fi

# 4. make install DESTDIR= at the build's configured prefix
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$B/CMakeCache.txt")
D=$T/destdir
if make -C "$B" install DESTDIR="$D" >"$T/install.log" 2>&1; then
	ok "make install DESTDIR=... (prefix $prefix)"
	[ "$prefix" = /usr ] && etc=/etc unit=/lib/systemd/system || { etc=$prefix/etc; unit=$prefix/lib/systemd/system; }
	for f in "$prefix/bin/novacron" "$prefix/share/man/man1/novacron.1" "$prefix/share/man/man5/novacron-spec.5" \
		"$prefix/share/bash-completion/completions/novacron" "$prefix/share/zsh/vendor-completions/_novacron" \
		"$unit/novacron.service" "$etc/novacron/serve.yaml" "$prefix/share/doc/novacron/install.md" \
		"$prefix/share/doc/novacron/novacron.schema.json" "$prefix/share/doc/novacron/examples/quickstart/infra.yaml"; do
		[ -f "$D$f" ] || fail "make install: no $f"
	done
	grep -q "^ExecStart=$prefix/bin/novacron serve --config $etc/novacron/serve.yaml\$" "$D$unit/novacron.service" &&
		ok "make install: layout under $prefix; the unit names $prefix/bin/novacron and $etc/novacron/serve.yaml" ||
		fail "make install: the unit's ExecStart: $(grep ExecStart= "$D$unit/novacron.service")"
	top=${prefix#/}; top=${top%%/*}
	extra=$(ls "$D" | grep -vxE "$top|etc|lib")
	[ -z "$extra" ] && ok "make install wrote under the prefix and /etc, /lib only" || fail "make install wrote $extra"
	# a second make install (an upgrade from source) keeps the operator's serve.yaml
	echo "# edited by the operator" >>"$D$etc/novacron/serve.yaml"
	make -C "$B" install DESTDIR="$D" >>"$T/install.log" 2>&1 &&
		grep -q 'edited by the operator' "$D$etc/novacron/serve.yaml" &&
		ok "make install again: the operator's edit of serve.yaml is kept" ||
		fail "make install again: serve.yaml was replaced (or the install failed)"
else
	fail "make install DESTDIR="; tail -20 "$T/install.log"
fi
[ $fails -eq 0 ]
