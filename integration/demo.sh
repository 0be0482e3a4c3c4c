#!/usr/bin/env bash
# make demo: an operator session on the bundled policies, in a private mount namespace whose
# /etc, /usr/local, /var/log and /home are overlays on a tmpfs: nothing it changes outlives it.
# Usage: integration/demo.sh, with CAGE_DEMO_LINE='COMMAND LINE' to run one line (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "make demo: needs root (it builds a private mount namespace)" >&2; exit 1; }

if [ "${CAGE_DEMO_INSIDE:-}" != 1 ]; then
  echo "make demo: building cage (a first build takes a few minutes)"
  cargo build --release --locked --quiet
  exec unshare --mount --propagation private env CAGE_DEMO_INSIDE=1 "$0"
fi

. "$(dirname "$0")"/private-root.sh
overlay_dirs /etc /usr/local /var/log /home

# The grant's read-write directories, each a private tmpfs. One the host lacks is made for
# the demo and removed after it.
made=()
for dir in /u01 /opt/oci/exacc; do
  [ -d "$dir" ] || { mkdir -p "$dir"; made+=("$dir"); }
  mount -t tmpfs -o mode=1777 cage-demo "$dir"
done
printf 'notes of the demo operator\n' > /u01/notes.txt

make --no-print-directory install PREFIX=/usr/local >/dev/null
useradd --no-create-home --home-dir /home/opdemo --shell /usr/local/bin/cage opdemo
install -d -o opdemo -g opdemo -m 0700 /home/opdemo
sed -i 's/^layer = .*/layer = "cps"/' /etc/cage/cage.toml
printf 'Nov 22 10:00:01 cps01 exawatcher[812]: collection started\nNov 22 10:05:42 cps01 kernel: eth0: link up\n' > /var/log/demo.log
chmod 0600 /var/log/demo.log
cagectl grant --login opdemo --actions INFRA_DIAG --duration 2h --req DEMO-0001 --reason "make demo" >/dev/null

operator=(setpriv --reuid=opdemo --regid=opdemo --init-groups /usr/local/bin/cage)
status=0
if [ -n "${CAGE_DEMO_LINE:-}" ]; then
  "${operator[@]}" -c "$CAGE_DEMO_LINE" || status=$?
else
  echo "cage demo: operator opdemo, INFRA_DIAG on a cps host, grant DEMO-0001 for 2 hours."
  echo "Try: help, sudocat /var/log/demo.log, sudotail -f /var/log/demo.log (Ctrl-C), sudovi /u01/notes.txt,"
  echo "     journalctl -n 5 > /u01/journal.txt, sudols -l /u01, sudocat /etc/shadow, bash, exit"
  # The session is a job of its own, in the foreground of the terminal: Ctrl-C reaches
  # cage only, never make.
  [ -t 0 ] && set -m
  "${operator[@]}" || status=$?
  set +m
fi
for dir in "${made[@]}"; do umount "$dir" && rmdir "$dir"; done
exit "$status"
