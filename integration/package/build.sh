#!/usr/bin/env bash
# make deb: the Debian packages in target/deb (cage_VERSION_ARCH.deb, cage-dbgsym_VERSION_ARCH.deb),
# built by debhelper from debian/ (`debian/rules binary`, which runs `make install-files`
# for PREFIX=/usr) and checked by lintian: any error fails the build; the warnings left are
# explained in debian/cage.lintian-overrides and README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in dh lintian dpkg-deb; do
  command -v "$tool" >/dev/null ||
    { echo "make deb: $tool is missing (integration/prereqs.sh installs it: make prereqs)" >&2; exit 1; }
done
# One version: the package's and the man pages' are the crate's.
crate=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
package=$(dpkg-parsechangelog -S Version)
[ "$crate" = "$package" ] ||
  { echo "make deb: debian/changelog says $package, Cargo.toml $crate" >&2; exit 1; }
for page in man/*.[158]; do
  grep -q "^\.TH .* \"cage $crate\"" "$page" ||
    { echo "make deb: $page: its .TH line does not name cage $crate" >&2; exit 1; }
done

# debhelper's state (a step logged as done is skipped by the next run), removed before and
# after: not `debian/rules clean`, whose dh_clean also sweeps the tree for editor leftovers.
clean() {
  rm -rf debian/cage debian/.debhelper debian/files debian/debhelper-build-stamp \
    debian/*.debhelper debian/*.debhelper.log debian/*.substvars
}
clean
rm -rf target/deb
mkdir -p target/deb
# Files are root's in the package whoever builds it (Rules-Requires-Root: no).
export DEB_RULES_REQUIRES_ROOT=no
debian/rules binary
clean

# --fail-on error: warnings are reported, not fatal (see debian/cage.lintian-overrides).
lintian --fail-on error --tag-display-limit 0 --allow-root target/deb/*.deb
ls -l target/deb
