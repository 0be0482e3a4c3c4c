#!/usr/bin/env bash
# The cost of a change to cage: `cage -c "du -s /u01"` of the code at REV (default: the
# commit before HEAD) against this checkout, both installed setuid and stripped in the same
# sandbox (integration/session/sandbox.sh), started by the operator the same way, timed by
# hyperfine in the same run; and the two stripped binaries' sizes.
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


# Ten rounds of 21 runs each, the three cases in turn in every round, so that a change in the
# machine's load falls on all of them alike; the medians are of all 210 runs of each.
CAGE_SANDBOX_STRIP=1 integration/session/sandbox.sh target/release <<INNER
install -o root -g root -s -m 4755 '$before/release/cage' /usr/local/bin/cage-before
grant --actions INFRA_DIAG --duration 1h --req BENCH
run='setpriv --reuid=optest --regid=optest --init-groups'
for round in \$(seq 10); do
  hyperfine -N --warmup 3 --runs 21 --style none --export-json "$repo/target/before-after-\$round.json" \
    -n "cage -c at $rev" "\$run /usr/local/bin/cage-before -c 'du -s /u01'" \
    -n "cage -c now" "\$run /usr/local/bin/cage -c 'du -s /u01'" \
    -n "setpriv du alone" "\$run /usr/bin/du -s /u01"
done
INNER
python3 - "$repo"/target/before-after-*.json <<'TABLE'
import json, statistics, sys
times = {}
for path in sys.argv[1:]:
    for r in json.load(open(path))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
now = statistics.median(times["cage -c now"])
print(f"{'median of ' + str(len(times['cage -c now'])) + ' runs':<30} {'ms':>8} {'÷ now':>7}")
for command, samples in times.items():
    median = statistics.median(samples)
    print(f"{command:<30} {median * 1e3:>8.2f} {median / now:>7.2f}")
TABLE
rm -f "$repo"/target/before-after-*.json
