#!/usr/bin/env bash
# The Debian base of the test images, from mmdebstrap with this machine's own apt sources (no
# registry pull), imported once per package list; starts dockerd when none runs (dockerd.sh).
# Prints the image's tag. Usage: base.sh (as root, from the repo). Used by build.sh and
# integration/package/test.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/target/container
mkdir -p "$out"

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v ssh >/dev/null || need+=(openssh-client)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

"$repo/integration/container/dockerd.sh"

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
# What the cage package depends on beyond the above, and man-db for `man cage`.
packages=$packages,python3,man-db
base="cage-base:$suite-$(printf %s "$packages" | cksum | cut -d' ' -f1)"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  sources=$(ls /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 || true)
  [ -n "$sources" ] || sources=/etc/apt/sources.list
  mmdebstrap --quiet --variant=minbase \
    --include="$packages" \
    "$suite" "$out/base.tar" "$sources" >&2
  docker import "$out/base.tar" "$base" >/dev/null
  rm -f "$out/base.tar"
fi
echo "$base"
