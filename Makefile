# cage: the two commands are `make demo` and `make test` (see README.md).
CARGO ?= cargo
POLICIES := policies
PROBE := target/probe

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
PKGLIBDIR ?= $(PREFIX)/lib/cage
MANDIR ?= $(PREFIX)/share/man
# systemd reads units from /usr/local/lib/systemd/system and /usr/lib/systemd/system.
UNITDIR ?= $(PREFIX)/lib/systemd/system
# Where each shell looks for the completion scripts of installed programs (cagectl's).
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
# cage and cagectl start the notifier, and cagectl gives temporary users their login shell,
# from paths fixed when they are built: where these directories install them. Exported only
# off the defaults, so plain cargo builds (and the tests) share one build with `make`.
ifneq ($(PKGLIBDIR),/usr/local/lib/cage)
export CAGE_NOTIFIER := $(PKGLIBDIR)/cage-notify
endif
ifneq ($(BINDIR),/usr/local/bin)
export CAGE_SHELL := $(BINDIR)/cage
endif
# Where cargo leaves the binaries (`make deb` builds in a target directory of its own).
RELEASE := $(or $(CARGO_TARGET_DIR),target)/release
# Files are root's when installed by root; a build as another user (DESTDIR) keeps its own.
OWNER := $(if $(filter 0,$(shell id -u)),-o root -g root)
APPLETS := sudols sudocat sudotail sudohead sudocp sudovi sudorm

.PHONY: all build install install-files install-state release uninstall deb deb-test test prereqs lint tests fuzz integration escapes container probe check-policies bench bench-peers demo clean

all: build

build:
	$(CARGO) build --release --locked

## test: formatting, lints, every test (root tests included: run as root). What CI runs.
PHASES := prereqs lint check-policies tests fuzz deb-test integration escapes
test:
	@for phase in $(PHASES); do \
	  start=$$(date +%s); echo "== make $$phase"; \
	  $(MAKE) --no-print-directory $$phase || { echo "== make $$phase failed after $$(( $$(date +%s) - start )) s"; exit 1; }; \
	  echo "== make $$phase done in $$(( $$(date +%s) - start )) s"; \
	done

## prereqs: what the tests need, installed only when missing (Debian packages, cargo tools).
prereqs:
	@integration/prereqs.sh

# cagectl's dependencies that the setuid cage must never link (`make lint` checks).
CAGECTL_ONLY := clap|clap_builder|clap_derive|clap_lex|clap_complete|anstyle|strsim|heck
lint:
	$(CARGO) fmt --all --check
	rustfmt --check --edition 2021 fuzz/src/lib.rs fuzz/fuzz_targets/*.rs
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	@# The mail library and TLS stay in cage-notify: never linked into cage or cagectl; what
	@# only cagectl needs (the argument parser, its completions) stays in cagectl/. The trees
	@# are written first, so that a failing `cargo tree` fails the lint.
	@mkdir -p target
	@$(CARGO) tree --locked -p cage -e normal,build > target/tree-cage.txt
	@$(CARGO) tree --locked -p cagectl -e normal,build > target/tree-cagectl.txt
	@! grep -E ' (lettre|rustls[a-z-]*|ring|webpki[a-z-]*) v' target/tree-cage.txt || \
	  (echo 'lint: the cage package must not depend on a mail or TLS library (see notifier/)'; exit 1)
	@! grep -E ' (lettre|rustls[a-z-]*|ring|webpki[a-z-]*) v' target/tree-cagectl.txt || \
	  (echo 'lint: cagectl must not depend on a mail or TLS library (see notifier/)'; exit 1)
	@! grep -E ' ($(CAGECTL_ONLY)) v' target/tree-cage.txt || \
	  (echo 'lint: the cage package must not depend on what only cagectl needs (see cagectl/)'; exit 1)

check-policies:
	$(CARGO) run --quiet --locked --bin cagectl -- check $(POLICIES)

# One process per test (cargo nextest): jail tests fork, mount and drop privileges.
# The container tests run in `integration`, against a container started for them.
tests: probe
	$(CARGO) nextest run --locked --no-fail-fast --run-ignored all -E 'not (binary(container) | binary(container_end) | binary(container_operator))'

## fuzz: every fuzz target (fuzz/, docs/assurance.md) for FUZZ_SECONDS each, from the seeds
# the tests give and the corpus earlier runs grew; fails on a crash, a failed property, a
# timeout or a leak. FUZZ_TARGETS='line grant' picks targets.
FUZZ_SECONDS ?= 10
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS='$(FUZZ_TARGETS)' fuzz/run.sh

## integration: real sshd in a container (image from mmdebstrap, no registry), real ssh client.
# CAGE_IT names the container and its image, so two checkouts can test side by side.
export CAGE_IT ?= cage-it
CONTAINER_FLAGS := --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
	--security-opt apparmor=unconfined --security-opt systempaths=unconfined
integration: container
	docker rm -f $(CAGE_IT) >/dev/null 2>&1 || true
	docker run -d --name $(CAGE_IT) $(CONTAINER_FLAGS) -p 127.0.0.1::22 $(CAGE_IT):test >/dev/null
	integration/container/wait-ready.sh $(CAGE_IT)
	$(CARGO) nextest run --locked --no-fail-fast --run-ignored all -E 'binary(container) | binary(container_end) | binary(container_operator)'; \
	  status=$$?; docker rm -f $(CAGE_IT) >/dev/null; exit $$status

## escapes: the adversarial suite (integration/escapes/cases.toml) over real ssh, in its own
# container of the same image, bounded (pids, memory) so a resource case cannot hurt the host.
# One line per case and `N passed, N failed`; ESCAPES=FILTER (or ^FILTER) picks cases.
escapes: container
	docker rm -f $(CAGE_IT) >/dev/null 2>&1 || true
	docker run -d --name $(CAGE_IT) $(CONTAINER_FLAGS) --pids-limit 4096 --memory 3g \
	  -p 127.0.0.1::22 $(CAGE_IT):test >/dev/null
	integration/container/wait-ready.sh $(CAGE_IT)
	$(CARGO) build --release --locked --quiet --example escapes
	target/release/examples/escapes $(ESCAPES); \
	  status=$$?; docker rm -f $(CAGE_IT) >/dev/null; exit $$status

container: deb
	integration/container/build.sh

probe: $(PROBE)

$(PROBE): integration/probe/probe.c integration/probe/build.sh
	mkdir -p target
	integration/probe/build.sh $@

## bench: performance figures side by side with peers from one run (never asserted in tests).
# The session bench builds its floor program (benches/floor) with cc.
bench: bench-peers
	$(CARGO) bench --locked --bench decide
	$(CARGO) bench --locked --bench jail
	$(CARGO) build --release --locked --bin cage --bin cagectl
	$(CARGO) bench --locked --bench session
	$(CARGO) bench --locked --bench tail
	$(CARGO) bench --locked --bench audit
	$(CARGO) bench --locked --bench cat
	$(CARGO) bench --locked --bench monitor

bench-peers:
	@command -v bwrap >/dev/null && command -v sudo >/dev/null && command -v cc >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap sudo gcc)

## install: cage setuid root, cagectl and its bash, zsh and fish completions, the notifier,
# the applet links, the man pages, the systemd units (not enabled) and a cron file for hosts
# without systemd, the sshd snippet and /etc/cage/cage.toml (both kept if present), the
# policies, the state directories and their modes, the group `cage` and /etc/shells. Every
# path follows PREFIX (or BINDIR, SBINDIR, PKGLIBDIR, MANDIR, UNITDIR, BASHCOMPDIR,
# ZSHCOMPDIR, FISHCOMPDIR) under DESTDIR; /etc and /var are fixed. The Debian package
# (`make deb`) installs the same files through install-files.
UNIT_FILES := $(notdir $(wildcard integration/systemd/*.service integration/systemd/*.timer))
MAN_PAGES := man/cage.1 man/cage-verify-trail.1 man/cage.toml.5 man/cage-policy.5 man/cagectl.8
# The units and the cron file name the programs where this install puts them.
SUBST := sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@PKGLIBDIR@|$(PKGLIBDIR)|g'
STATE_DIRS := /etc/cage/grants /etc/cage/requests /etc/cage/users /var/log/cage /var/spool/cage \
	/var/spool/cage/notify

install: install-files install-state

# The build runs again where cargo is at hand (a no-op when up to date), so that what is
# installed is what the tree says and knows where the notifier and the shell are. Where it
# is not (`sudo make install` after `make`), the built binaries are installed as they are.
release:
	@if command -v $(CARGO) >/dev/null 2>&1; then $(CARGO) build --release --locked; \
	elif [ -n "$${CAGE_NOTIFIER:-}$${CAGE_SHELL:-}" ] || \
	    ! [ -x $(RELEASE)/cage -a -x $(RELEASE)/cagectl -a -x $(RELEASE)/cage-notify ]; then \
	  echo "install: cargo is not on PATH and $(RELEASE) lacks a build for these paths: run make first" >&2; exit 1; \
	else echo "install: cargo is not on PATH: installing the binaries built in $(RELEASE)"; fi

# The programs are installed stripped (the setuid cage loses 23 MB of debug information and
# starts faster); the Debian package leaves that to dh_strip, which keeps it in a -dbgsym.
INSTALL_STRIP ?= -s
install-files: release
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
	  $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR) \
	  $(DESTDIR)/etc/cage/policies $(DESTDIR)/etc/ssh/sshd_config.d $(DESTDIR)/etc/cron.d
	install $(OWNER) $(INSTALL_STRIP) -m 4755 $(RELEASE)/cage $(DESTDIR)$(BINDIR)/cage
	install $(OWNER) $(INSTALL_STRIP) -m 0755 $(RELEASE)/cagectl $(DESTDIR)$(SBINDIR)/cagectl
	@# The completion scripts, from the cagectl just built (`cagectl completions SHELL`).
	for shell in bash zsh fish; do \
	  $(RELEASE)/cagectl completions $$shell > $(RELEASE)/cagectl.$$shell || exit 1; done
	install $(OWNER) -m 0644 $(RELEASE)/cagectl.bash $(DESTDIR)$(BASHCOMPDIR)/cagectl
	install $(OWNER) -m 0644 $(RELEASE)/cagectl.zsh $(DESTDIR)$(ZSHCOMPDIR)/_cagectl
	install $(OWNER) -m 0644 $(RELEASE)/cagectl.fish $(DESTDIR)$(FISHCOMPDIR)/cagectl.fish
	install $(OWNER) -m 0755 tools/cage-verify-trail $(DESTDIR)$(BINDIR)/cage-verify-trail
	install $(OWNER) $(INSTALL_STRIP) -m 0755 $(RELEASE)/cage-notify $(DESTDIR)$(PKGLIBDIR)/cage-notify
	for applet in $(APPLETS); do \
	  ln -sf cage $(DESTDIR)$(BINDIR)/$$applet; ln -sf cage.1 $(DESTDIR)$(MANDIR)/man1/$$applet.1; done
	for page in $(MAN_PAGES); do \
	  install $(OWNER) -m 0644 $$page $(DESTDIR)$(MANDIR)/man$${page##*.}/; done
	for unit in $(UNIT_FILES); do \
	  $(SUBST) integration/systemd/$$unit > $(DESTDIR)$(UNITDIR)/$$unit; chmod 0644 $(DESTDIR)$(UNITDIR)/$$unit; done
	$(SUBST) integration/cron.d-cage > $(DESTDIR)/etc/cron.d/cage
	chmod 0644 $(DESTDIR)/etc/cron.d/cage
	install $(OWNER) -m 0644 $(POLICIES)/*.toml $(DESTDIR)/etc/cage/policies/
	test -f $(DESTDIR)/etc/cage/cage.toml || \
	  install $(OWNER) -m 0644 integration/cage.toml.example $(DESTDIR)/etc/cage/cage.toml
	test -f $(DESTDIR)/etc/ssh/sshd_config.d/cage.conf || \
	  install $(OWNER) -m 0644 integration/sshd_config.d/cage.conf $(DESTDIR)/etc/ssh/sshd_config.d/cage.conf

install-state:
	install -d $(OWNER) -m 0700 $(addprefix $(DESTDIR),$(STATE_DIRS))
	install -d $(OWNER) -m 0755 $(DESTDIR)/etc/cage/keys
	touch $(DESTDIR)/etc/shells
	grep -qxF $(BINDIR)/cage $(DESTDIR)/etc/shells || echo $(BINDIR)/cage >> $(DESTDIR)/etc/shells
	@# sshd's `Match Group cage` and cagectl's temporary users need the group on the host.
	if [ -z "$(DESTDIR)" ] && ! getent group cage >/dev/null; then groupadd --system cage; fi

## uninstall: what install-files installed, the line in /etc/shells and the cron file. The
# configuration, grants, keys, audit trail, spool, sshd snippet and group stay.
uninstall:
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemctl disable --now $(filter %.timer,$(UNIT_FILES)) 2>/dev/null || true; fi
	rm -f $(DESTDIR)$(BINDIR)/cage $(DESTDIR)$(BINDIR)/cage-verify-trail $(DESTDIR)$(SBINDIR)/cagectl \
	  $(DESTDIR)$(BASHCOMPDIR)/cagectl $(DESTDIR)$(ZSHCOMPDIR)/_cagectl $(DESTDIR)$(FISHCOMPDIR)/cagectl.fish \
	  $(DESTDIR)$(PKGLIBDIR)/cage-notify $(addprefix $(DESTDIR)$(BINDIR)/,$(APPLETS)) \
	  $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(addsuffix .1,$(APPLETS))) \
	  $(foreach p,$(MAN_PAGES),$(DESTDIR)$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(notdir $(p))) \
	  $(addprefix $(DESTDIR)$(UNITDIR)/,$(UNIT_FILES)) $(DESTDIR)/etc/cron.d/cage
	rmdir $(DESTDIR)$(PKGLIBDIR) 2>/dev/null || true
	if [ -f $(DESTDIR)/etc/shells ]; then sed -i '\|^$(BINDIR)/cage$$|d' $(DESTDIR)/etc/shells; fi
	@echo "make uninstall: kept /etc/cage, /var/log/cage (the audit trail), /var/spool/cage," \
	  "/etc/ssh/sshd_config.d/cage.conf and the group cage"

## deb: the Debian package in target/deb (debhelper from debian/, lintian with no error),
# built again when a file git tracks changed. deb-test: it installs, upgrades over itself,
# removes and purges in a clean container (integration/package/test.sh).
DEB_STAMP := target/deb/.built
deb: $(DEB_STAMP)

$(DEB_STAMP): $(wildcard $(shell git ls-files 2>/dev/null))
	@integration/package/build.sh
	@touch $@

deb-test: deb
	@integration/package/test.sh

## demo: an operator session on the bundled policies (CMD='...' runs one line and exits).
# The line reaches cage untouched: neither make nor a shell expands it.
demo: export CAGE_DEMO_LINE := $(value CMD)
demo:
	@integration/demo.sh

clean:
	$(CARGO) clean
