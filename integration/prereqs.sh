#!/usr/bin/env bash
# What `make test` needs on a fresh Debian machine, installed only when missing (as root):
# the Debian packages of the tools the tests call, the Rust components and cargo tools.
# Fails at once, with one line, on what it cannot install. Called by `make test` (and so by
# .ci/run); `make test` runs nothing before it.
set -euo pipefail
export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v cargo >/dev/null; then
  echo "prereqs: cargo is missing: install the Rust toolchain (rustup or Debian's cargo) first" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prereqs: make test runs the jail tests as root: run it as root" >&2
  exit 1
fi

# command:package. The editors: cage's sudovi takes vim.tiny first, vim.basic otherwise.
# debhelper, dpkg-dev and lintian: make deb.
need_apt=()
# procps: the tests watch processes (ps, pgrep, pkill), and a test alias runs top.
for pair in make:make gcc:gcc pgrep:procps ps:procps top:procps c++:g++ ip:iproute2 useradd:passwd setpriv:util-linux unshare:util-linux \
            script:bsdutils mount:mount python3:python3 asciinema:asciinema sudo:sudo \
            vim.tiny:vim-tiny ssh:openssh-client mmdebstrap:mmdebstrap dockerd:docker.io \
            dh:debhelper dpkg-parsechangelog:dpkg-dev lintian:lintian; do
  package=${pair#*:}
  command -v "${pair%%:*}" >/dev/null || [[ " ${need_apt[*]} " == *" $package "* ]] || need_apt+=("$package")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "prereqs: installing ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null ||
    { echo "prereqs: apt-get could not install: ${need_apt[*]}" >&2; exit 1; }
fi

for component in clippy rustfmt; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component" ||
      { echo "prereqs: the Rust component $component is missing and could not be added" >&2; exit 1; }
  fi
done
# The fuzz targets (make fuzz): cargo fuzz builds them with libFuzzer, which needs c++ (above).
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "prereqs: installing cargo-fuzz"
  cargo install --locked --quiet cargo-fuzz ||
    { echo "prereqs: cargo-fuzz could not be installed" >&2; exit 1; }
fi
# The tests run one process per test (jail tests fork, mount and drop privileges).
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "prereqs: installing cargo-nextest"
  cargo install --locked --quiet cargo-nextest ||
    { echo "prereqs: cargo-nextest could not be installed" >&2; exit 1; }
fi
# dockerd (the container tests and make deb-test): started now, on the fresh host, so that a
# host that cannot run it says why before the tests rather than after them.
"$(dirname "$0")/container/dockerd.sh"
