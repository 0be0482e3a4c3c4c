#!/usr/bin/env bash
# Builds the jail probe for the root tests: integration/probe/build.sh OUTPUT
set -euo pipefail
out=${1:?usage: build.sh OUTPUT}
command -v gcc >/dev/null || { echo "build.sh: gcc is needed to build the probe" >&2; exit 1; }
gcc -O1 -Wall -Wextra -Werror -o "$out" "$(dirname "$0")/probe.c"
