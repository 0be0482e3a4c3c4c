#!/usr/bin/env bash
# make deb-test: the package of target/deb proven. On the host: stripped binaries with their
# debug info in the -dbgsym package, the paths compiled in, no /usr/local in what it installs.
# Then, in a clean container of the test base (integration/container/base.sh, no network):
# install, use, upgrade over itself (the same files as the next version), remove, purge
# (in-container.sh). Usage: test.sh (as root, after make deb)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
deb=$(ls target/deb/cage_*.deb | head -n 1)
ddeb=$(ls target/deb/cage-dbgsym_*.deb | head -n 1)
work=$(mktemp -d)
name="${CAGE_IT:-cage-it}-deb"
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

passed=0 failed=0
check() {
  local what=$1; shift
  if "$@" >"$work/check.out" 2>&1; then
    passed=$((passed + 1)); echo "ok: $what"
  else
    failed=$((failed + 1)); echo "FAILED: $what"; sed 's/^/    /' "$work/check.out"
  fi
}
no_debug_info() { ! readelf -S "$1" | grep -q '\.debug_info'; }
has_debug_info() { readelf -S "$1" | grep -q '\.debug_info'; }

echo "== the package"
dpkg-deb -x "$deb" "$work/root"
dpkg-deb -x "$ddeb" "$work/dbg"
for binary in usr/bin/cage usr/sbin/cagectl usr/lib/cage/cage-notify; do
  check "$binary is stripped" no_debug_info "$work/root/$binary"
done
debug_files=$(find "$work/dbg/usr/lib/debug/.build-id" -name '*.debug' | wc -l)
check "the dbgsym package holds the three binaries' debug info" test "$debug_files" = 3
for file in $(find "$work/dbg/usr/lib/debug/.build-id" -name '*.debug'); do
  check "${file#"$work/dbg"} has .debug_info" has_debug_info "$file"
done
check "cage is setuid root in the package" bash -c "dpkg-deb -c '$deb' | grep -q '^-rwsr-xr-x root/root .* ./usr/bin/cage$'"
check "cage was built for /usr/lib/cage/cage-notify" grep -qa /usr/lib/cage/cage-notify "$work/root/usr/bin/cage"
check "no /usr/local in the units and the cron file" \
  bash -c "! grep -rl /usr/local '$work/root/lib/systemd' '$work/root/etc/cron.d'"
conffiles=$(dpkg-deb -I "$deb" conffiles)
for file in /etc/cage/cage.toml /etc/cage/policies/INFRA_DIAG.toml /etc/ssh/sshd_config.d/cage.conf \
            /etc/cron.d/cage; do
  check "$file is a conffile" grep -qx "$file" <<<"$conffiles"
done

# The next version: the same tree, a higher version number.
version=$(dpkg-deb -f "$deb" Version)
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: $version+1/" "$work/next/DEBIAN/control"
mkdir "$work/pkg"
cp "$deb" "$work/pkg/cage.deb"
dpkg-deb --root-owner-group -b "$work/next" "$work/pkg/cage-next.deb" >/dev/null
cp integration/package/in-container.sh "$work/pkg/"

base=$(integration/container/base.sh)
docker rm -f "$name" >/dev/null 2>&1 || true
status=0
docker run --rm --name "$name" --network none -v "$work/pkg:/pkg:ro" "$base" \
  bash /pkg/in-container.sh /pkg/cage.deb /pkg/cage-next.deb || status=$?

echo "host: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
