#!/usr/bin/env bash
# Waits (at most 30 s) until the container's sshd greets on its published port: tests that
# start while it is still coming up would fail on a refused connection, not on cage.
set -euo pipefail
name=$1
for _ in $(seq 300); do
  port=$(docker port "$name" 22/tcp 2>/dev/null | head -n 1 | sed 's/.*://')
  if [ -n "$port" ] && timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && head -c 4 <&3" 2>/dev/null \
      | grep -q '^SSH-'; then
    exit 0
  fi
  sleep 0.1
done
echo "container $name: sshd did not answer within 30 s" >&2
exit 1
