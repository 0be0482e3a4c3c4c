#!/usr/bin/env bash
# Builds the container image for the ssh tests (tag cage-it:test): the Debian base (base.sh),
# real openssh-server, cage installed from its Debian package (make deb, target/deb) as a
# site installs it, then the test fixtures (setup.sh). Usage: build.sh (as root, from the
# repo; `make container` builds the package first)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/target/container
mkdir -p "$out"
base=$("$repo/integration/container/base.sh")
deb=$(ls "$repo"/target/deb/cage_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "build.sh: no package in target/deb: run make deb" >&2; exit 1; }

# The operator's key, made once per build tree.
[ -f "$out/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C cage-test -f "$out/id_ed25519"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/repo/integration"
cp "$deb" "$ctx/cage.deb"
cp -r "$repo/integration/sshd_config.d" "$repo/integration/rsyslog" "$ctx/repo/integration/"
cp "$repo/integration/container/setup.sh" "$repo/integration/container/start.sh" \
  "$repo/integration/container/smtp-server.py" "$ctx/"
cp "$out/id_ed25519.pub" "$ctx/operator.pub"
cat > "$ctx/Dockerfile" <<DOCKER
FROM $base
COPY . /build
RUN sh /build/setup.sh && install -m 0755 /build/start.sh /usr/local/sbin/start && rm -rf /build
CMD ["/usr/local/sbin/start"]
DOCKER
tag=${CAGE_IT:-cage-it}:test
docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag built"
