#!/usr/bin/env bash
# make fuzz: runs every fuzz target (or those in FUZZ_TARGETS) for FUZZ_SECONDS each, from its
# seeds (fuzz/seeds.py) and the corpus earlier runs grew (fuzz/corpus/TARGET, not in git).
# Prints one line per target (runs, coverage, corpus) and fails if any target found a crash,
# a failed property, a timeout, a leak or ran out of memory; what it found is kept in
# fuzz/artifacts/TARGET/ and its log in fuzz/target/logs/TARGET.log.
set -uo pipefail
cd "$(dirname "$0")"
export PATH="$HOME/.cargo/bin:$PATH"
# cargo fuzz needs -Z flags (sanitizers, coverage instrumentation): allowed on stable this way.
export RUSTC_BOOTSTRAP=1

seconds=${FUZZ_SECONDS:-10}
targets=${FUZZ_TARGETS:-$(cargo fuzz list)}
python3 seeds.py target/seeds || exit 1
cargo clippy --quiet --locked --all-targets -- -D warnings || { echo "fuzz: clippy" >&2; exit 1; }
cargo fuzz build || { echo "fuzz: the targets do not build" >&2; exit 1; }
mkdir -p target/logs

failed=()
printf '%-14s %10s %8s %8s %8s %9s  %s\n' target runs cov ft corpus exec/s result
for target in $targets; do
  mkdir -p "corpus/$target"
  log="target/logs/$target.log"
  dict=()
  [ -s "target/seeds/$target.dict" ] && dict=(-dict="target/seeds/$target.dict")
  # -timeout: one input may take 10 s at most; -rss_limit_mb: memory of the whole process.
  cargo fuzz run "$target" "corpus/$target" "target/seeds/$target" -- \
    -max_total_time="$seconds" "${dict[@]}" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  status=$?
  done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  field() { sed -nE "s|.* $1: ([0-9]+).*|\\1|p" <<<"$done_line"; }
  runs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$log")
  corpus=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$done_line")
  result=ok
  if [ "$status" -ne 0 ]; then
    result="FAILED: $(grep -m1 -oE 'ERROR: libFuzzer: [a-z -]+|ERROR: LeakSanitizer|panicked at [^ ]+' "$log" || echo "exit $status")"
    failed+=("$target")
  fi
  printf '%-14s %10s %8s %8s %8s %9s  %s\n' "$target" "${runs:--}" "$(field cov)" "$(field ft)" \
    "${corpus:--}" "$(field exec/s)" "$result"
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed: see fuzz/target/logs/ and fuzz/artifacts/ (docs/assurance.md)" >&2
  exit 1
fi
