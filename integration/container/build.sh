#!/usr/bin/env bash
# Builds the container image for the ssh tests (tag cage-it:test): the Debian base (base.sh),
# real openssh-server, cage installed by `make install`. Usage: build.sh (as root, from the repo)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/target/container
mkdir -p "$out"

base=$("$repo/integration/container/base.sh")

# The operator's key, made once per build tree.
[ -f "$out/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C cage-test -f "$out/id_ed25519"

cargo build --release --locked --quiet --bin cage --bin cagectl --bin cage-notify
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/repo"
cp -r "$repo/Makefile" "$repo/policies" "$repo/tools" "$ctx/repo/"
mkdir -p "$ctx/repo/target/release" "$ctx/repo/integration"
cp "$repo/target/release/cage" "$repo/target/release/cagectl" "$repo/target/release/cage-notify" \
  "$ctx/repo/target/release/"
cp -r "$repo/integration/cage.toml.example" "$repo/integration/sshd_config.d" "$repo/integration/rsyslog" \
  "$ctx/repo/integration/"
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
