#!/usr/bin/env bash
# Runs a test body (from stdin) with cage installed as in production (setuid root in
# /usr/local/bin, /etc/cage, /var/log/cage, an operator account), inside a private mount
# namespace whose /etc, /usr/local, /var/log and /home are overlays on a tmpfs: nothing
# outlives the test. Usage: sandbox.sh BIN_DIR < body   (as root). CAGE_SANDBOX_STRIP=1
# installs the programs stripped, as `make install` does (the benches measure that).
set -euo pipefail
if [ "${CAGE_SANDBOX_INSIDE:-}" != 1 ]; then
  exec unshare --mount --propagation private env CAGE_SANDBOX_INSIDE=1 "$0" "$@"
fi
bins=$1
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/.."/private-root.sh
overlay_dirs /etc /usr/local /var/log /home
mkdir -p /u01 && mount -t tmpfs -o mode=1777 cage-test-u01 /u01

strip=()
[ "${CAGE_SANDBOX_STRIP:-}" = 1 ] && strip=(-s)
install -o root -g root "${strip[@]}" -m 4755 "$bins/cage" /usr/local/bin/cage
install -o root -g root "${strip[@]}" -m 0755 "$bins/cagectl" /usr/local/bin/cagectl
for applet in sudols sudocat sudotail sudohead sudocp sudovi sudorm; do ln -sf cage "/usr/local/bin/$applet"; done
install -d -m 0755 /etc/cage /etc/cage/policies
install -d -m 0700 /etc/cage/grants /var/log/cage
install -m 0644 "$repo"/policies/*.toml /etc/cage/policies/
printf 'layer = "cps"\nhostname = "cps-test"\n' > /etc/cage/cage.toml
chmod 0644 /etc/cage/cage.toml
useradd --no-create-home --home-dir /home/optest --shell /usr/local/bin/cage optest
install -d -o optest -g optest -m 0700 /home/optest
printf 'first line\nsecond line\n' > /var/log/cage-test.log
chmod 0600 /var/log/cage-test.log

as_operator() { setpriv --reuid=optest --regid=optest --init-groups "$@"; }
grant() { cagectl grant --login optest "$@" >/dev/null; }
# A grant file written by hand: grant_file STATE NOT_BEFORE EXPIRES [EXTRA LINES]
grant_file() {
  {
    printf 'req_auth_id = "REQ-T1"\nlogin = "optest"\nactions = ["INFRA_DIAG"]\n'
    printf 'not_before = "%s"\nexpires = "%s"\napproved_by = "test"\nreason = "test"\nstate = "%s"\n' "$2" "$3" "$1"
    printf '%s' "${4:-}"
  } > /etc/cage/grants/optest.toml
  chmod 0600 /etc/cage/grants/optest.toml
}
stamp() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }

# Tests run in parallel: each gets its own /tmp for its scratch files. A checkout that lives
# under /tmp (a CI clone) is bound back at its own path on top, so test bodies still reach it.
if [[ $repo == /tmp/* ]]; then
  hold=$(mktemp -d /run/cage-sandbox-repo.XXXXXX)
  mount --bind "$repo" "$hold"
  mount -t tmpfs -o mode=1777 cage-test-tmp /tmp
  mkdir -p "$repo" && mount --bind "$hold" "$repo"
  umount "$hold" && rmdir "$hold"
  cd "$repo"
else
  mount -t tmpfs -o mode=1777 cage-test-tmp /tmp
fi

source /dev/stdin
