#!/usr/bin/env bash
# The cost of a change to cage: `cage -c "du -s /u01"`, and a session of ten of them, of the
# code at REV (default: the commit before HEAD) against this checkout, both installed setuid
# and stripped in the same sandbox (integration/session/sandbox.sh), started by the operator
# the same way, timed by hyperfine in the same run, once with the trail in the sandbox's
# /var/log (a tmpfs, where a sync costs nothing) and once on the machine's disk (/var/tmp);
# and the two stripped binaries' sizes.
# Usage: benches/before-after.sh [REV]   (as root; installs hyperfine when missing)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
rev=$(git rev-parse --short "${1:-HEAD~1}")
[ "$(id -u)" -eq 0 ] || { echo "before-after: run as root (the sandbox installs cage setuid)" >&2; exit 1; }
if ! command -v hyperfine >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi

# The code at REV, built in a worktree of its own into target/before-REV.
before=$repo/target/before-$rev
if [ ! -x "$before/release/cage" ]; then
  tree=$(mktemp -d)
  trap 'git worktree remove --force "$tree" 2>/dev/null || true' EXIT
  git worktree add --detach -q "$tree" "$rev"
  (cd "$tree" && CARGO_TARGET_DIR=$before cargo build --release --locked --quiet --bin cage)
fi
cargo build --release --locked --quiet --bin cage --bin cagectl

size() { strip -o "$repo/target/stripped-cage" "$1" && stat -c %s "$repo/target/stripped-cage"; }
printf '%-30s %10s\n' "cage at $rev, stripped" "$(size "$before/release/cage") B" \
  "cage now, stripped" "$(size target/release/cage) B"


# Five rounds of 21 runs each per trail, the cases in turn in every round, so that a change in
# the machine's load falls on all of them alike; the medians are of all 105 runs of each.
CAGE_SANDBOX_STRIP=1 integration/session/sandbox.sh target/release <<INNER
install -o root -g root -s -m 4755 '$before/release/cage' /usr/local/bin/cage-before
grant --actions INFRA_DIAG --duration 1h --req BENCH
disk=/var/tmp/cage-before-after
rm -rf \$disk; install -d -m 0700 \$disk
trap 'rm -rf \$disk' EXIT
cp /etc/cage/cage.toml /etc/cage/tmpfs.toml
{ cat /etc/cage/tmpfs.toml; printf '[audit]\\nfile = "%s/audit.jsonl"\\n' "\$disk"; } > /etc/cage/disk.toml
run='setpriv --reuid=optest --regid=optest --init-groups'
ten=\$(for i in \$(seq 10); do printf 'du -s /u01; '; done)
for trail in tmpfs disk; do
  install -m 0644 /etc/cage/\$trail.toml /etc/cage/cage.toml
  for round in \$(seq 5); do
    hyperfine -N --warmup 3 --runs 21 --style none --export-json "$repo/target/before-after-\$trail-\$round.json" \
      -n "cage -c at $rev" "\$run /usr/local/bin/cage-before -c 'du -s /u01'" \
      -n "cage -c now" "\$run /usr/local/bin/cage -c 'du -s /u01'" \
      -n "10 commands at $rev" "\$run /usr/local/bin/cage-before -c '\$ten'" \
      -n "10 commands now" "\$run /usr/local/bin/cage -c '\$ten'" \
      -n "setpriv du alone" "\$run /usr/bin/du -s /u01"
  done
done
INNER
python3 - "$repo" "$rev" <<'TABLE'
import glob, json, statistics, sys
repo, rev = sys.argv[1], sys.argv[2]
for trail in ["tmpfs", "disk"]:
    times = {}
    for path in glob.glob(f"{repo}/target/before-after-{trail}-*.json"):
        for r in json.load(open(path))["results"]:
            times.setdefault(r["command"], []).extend(r["times"])
    median = {command: statistics.median(samples) * 1e3 for command, samples in times.items()}
    # A further command: a session of ten less the session of one, over nine.
    for name in [rev, "now"]:
        at = f"at {rev}" if name == rev else "now"
        median[f"each further command {at}"] = (median[f"10 commands {at}"] - median[f"cage -c {at}"]) / 9
    print(f"trail on {trail}, medians of {len(times['cage -c now'])} runs")
    print(f"{'':<34} {'ms':>8} {'÷ now':>7}")
    for pair in [("cage -c", "cage -c"), ("each further command", "each further command")]:
        now = median[f"{pair[0]} now"]
        for command in [f"{pair[0]} at {rev}", f"{pair[0]} now"]:
            print(f"{command:<34} {median[command]:>8.2f} {median[command] / now:>7.2f}")
    print(f"{'setpriv du alone':<34} {median['setpriv du alone']:>8.2f}")
TABLE
rm -f "$repo"/target/before-after-*.json
