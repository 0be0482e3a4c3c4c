#!/usr/bin/env bash
# The Debian base of the test images, from mmdebstrap with this machine's own apt sources (no
# registry pull), imported once per package list; starts dockerd when none runs. Prints the
# image's tag. Usage: base.sh (as root, from the repo). Used by build.sh and
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

# dockerd: the running one, or one started here. A dockerd that runs but does not answer is
# stopped first, and a containerd socket with no containerd behind it removed (dockerd would
# take it for a running system containerd and wait on it). On failure, the end of dockerd's
# log says why.
up() { docker info >/dev/null 2>&1; }
wait_up() { for _ in $(seq "$1"); do up && return 0; sleep 0.5; done; up; }
if ! up && [ -d /run/systemd/system ] && systemctl cat docker.service >/dev/null 2>&1; then
  systemctl reset-failed docker.service containerd.service >/dev/null 2>&1 || true
  systemctl start docker.service >&2 || true
  wait_up 120 || true
fi
if ! up; then
  if pgrep -x dockerd >/dev/null; then
    wait_up 20 || { pkill -x dockerd || true; sleep 5; pkill -KILL -x dockerd || true; }
  fi
fi
if ! up; then
  rm -f /var/run/docker.pid
  if [ -S /run/containerd/containerd.sock ] && ! pgrep -x containerd >/dev/null; then
    rm -f /run/containerd/containerd.sock
  fi
  # In a session of its own: it outlives the shell (or job) that happened to start it.
  setsid -f dockerd >"$out/dockerd.log" 2>&1 < /dev/null
  if ! wait_up 240; then
    echo "base.sh: dockerd did not start in 120 s; the end of its log ($out/dockerd.log):" >&2
    tail -n 40 "$out/dockerd.log" | sed 's/^/  /' >&2
    { pgrep -a 'dockerd|containerd'; df -h /var/lib /run; } 2>&1 | sed 's/^/  /' >&2
    exit 1
  fi
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
