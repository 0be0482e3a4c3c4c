#!/usr/bin/env bash
# Makes sure dockerd answers: the running one, or one started here (as root). Called by
# prereqs.sh, so that a host that cannot run it says so before the tests, and by base.sh.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/target/container
mkdir -p "$out"

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
# Starts dockerd with "$@" and waits until it answers (true) or has died (false), 120 s at most.
start() {
  rm -f /var/run/docker.pid
  # In a session of its own: it outlives the shell (or job) that happened to start it.
  setsid -f dockerd "$@" >"$out/dockerd.log" 2>&1 < /dev/null
  for _ in $(seq 240); do
    up && return 0
    sleep 0.5
    pgrep -x dockerd >/dev/null || break
  done
  up
}
failed() {
  echo "dockerd.sh: dockerd did not start; the end of its log ($out/dockerd.log):" >&2
  tail -n 40 "$out/dockerd.log" | sed 's/^/  /' >&2
  { pgrep -a 'dockerd|containerd'; df -h /var/lib /run; } 2>&1 | sed 's/^/  /' >&2
  exit 1
}
if ! up; then
  if [ -S /run/containerd/containerd.sock ] && ! pgrep -x containerd >/dev/null; then
    rm -f /run/containerd/containerd.sock
  fi
  if ! start; then
    # A host whose netfilter dockerd cannot drive (a kernel without the modules, a sandbox
    # that denies it): the tests publish ports through docker's userland proxy, which needs
    # no iptables rule.
    grep -qi iptables "$out/dockerd.log" || failed
    echo "dockerd.sh: dockerd could not set up iptables; starting it with --iptables=false" >&2
    mv "$out/dockerd.log" "$out/dockerd-iptables.log"
    pkill -x dockerd || true
    for _ in $(seq 20); do pgrep -x dockerd >/dev/null || break; sleep 0.5; done
    start --iptables=false || failed
  fi
fi
