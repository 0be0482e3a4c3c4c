#!/usr/bin/env bash
# Builds the container image for the ssh tests (tag cage-it:test): Debian from mmdebstrap
# with this machine's own apt sources (no registry pull), real openssh-server, cage installed
# by `make install`. Starts dockerd when none runs. Usage: build.sh (as root, from the repo)
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/target/container
mkdir -p "$out"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v ssh >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  # In a session of its own: it outlives the shell (or job) that happened to start it.
  setsid -f dockerd >"$out/dockerd.log" 2>&1 < /dev/null
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "build.sh: dockerd did not start (see $out/dockerd.log)" >&2; exit 1; }
fi

# The base: the host's suite, from the host's own apt sources.
. /etc/os-release
suite=$VERSION_CODENAME
packages=openssh-server,iproute2,procps,passwd,util-linux,bsdutils,make,tcpdump,rsyslog,rsyslog-gnutls,openssl
# The programs behind the CPS aliases and the tools of the adversarial suite (make escapes):
# real binaries, so an escape that works against the real program is caught.
packages=$packages,systemd,curl,lsof,net-tools,traceroute,tcptraceroute,iputils-arping,ethtool,ipmitool,cron
packages=$packages,less,vim-tiny,python3-minimal,acct,socat
# The SMTP server of the notification test (STARTTLS and AUTH; integration/container/smtp-server.py).
packages=$packages,python3-aiosmtpd
base="cage-base:$suite-$(printf %s "$packages" | cksum | cut -d' ' -f1)"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  sources=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
  [ -n "$sources" ] || sources=/etc/apt/sources.list
  mmdebstrap --quiet --variant=minbase \
    --include="$packages" \
    "$suite" "$out/base.tar" "$sources"
  docker import "$out/base.tar" "$base" >/dev/null
  rm -f "$out/base.tar"
fi

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
