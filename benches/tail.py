"""Append-to-display latency of `sudotail -f` (through cage) and `tail -f`, same run.

Run inside the session sandbox (benches/tail.rs): appends a timestamped line, reads it back
from the follower's stdout, and prints p50 and p99 in microseconds for each follower."""
import os
import subprocess
import sys
import time

# On a tmpfs (/u01 in the sandbox): on overlayfs GNU tail -f falls back to 1 s polling.
LOG = "/u01/cage-bench-tail.log"
ROUNDS = 400


def measure(argv):
    with open(LOG, "w"):
        pass
    os.chmod(LOG, 0o600)
    follower = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
    time.sleep(1.0)
    samples = []
    with open(LOG, "a", buffering=1) as log:
        for i in range(ROUNDS):
            sent = time.perf_counter_ns()
            log.write(f"{i} {sent}\n")
            log.flush()
            line = follower.stdout.readline()
            if not line:
                break
            samples.append((time.perf_counter_ns() - sent) / 1000)
            time.sleep(0.002)
    follower.kill()
    follower.wait()
    samples.sort()
    if not samples:
        return None
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99) - 1]


operator = ["setpriv", "--reuid=optest", "--regid=optest", "--init-groups"]
rows = [
    ("tail -f (root)", ["tail", "-n", "0", "-f", LOG]),
    ("sudotail -f (cage, as the operator)", operator + ["/usr/local/bin/cage", "-c", f"sudotail -n 0 -f {LOG}"]),
    ("sudotail -F (cage, as the operator)", operator + ["/usr/local/bin/cage", "-c", f"sudotail -n 0 -F {LOG}"]),
]
results = [(name, measure(argv)) for name, argv in rows]
base = results[0][1][0] if results[0][1] else None
print(f"append-to-display latency, {ROUNDS} lines, same run (target: sudotail within 2x of tail -f)")
print(f"{'follower':<40} {'p50 us':>9} {'p99 us':>9} {'p50 / tail -f':>14}")
for name, r in results:
    if r is None:
        print(f"{name:<40} {'-':>9} {'-':>9} (no output)")
        continue
    ratio = f"{r[0] / base:.2f}" if base else "-"
    print(f"{name:<40} {r[0]:>9.0f} {r[1]:>9.0f} {ratio:>14}")
sys.stdout.flush()
