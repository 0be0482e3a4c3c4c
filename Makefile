# cage: the two commands are `make demo` and `make test` (see README.md).
CARGO ?= cargo
POLICIES := policies
PROBE := target/probe

PREFIX ?= /usr/local
DESTDIR ?=
# cage and cagectl start the notifier from a path fixed when they are built: where this
# PREFIX installs it. Exported only off the default, so plain cargo builds (and the tests)
# share one build with `make`.
ifneq ($(PREFIX),/usr/local)
export CAGE_NOTIFIER := $(PREFIX)/lib/cage/cage-notify
endif
APPLETS := sudols sudocat sudotail sudohead sudocp sudovi sudorm

.PHONY: all build install test prereqs lint tests fuzz integration escapes container probe check-policies bench bench-peers demo clean

all: build

build:
	$(CARGO) build --release --locked

## test: formatting, lints, every test (root tests included: run as root). What CI runs.
PHASES := prereqs lint check-policies tests fuzz integration escapes
test:
	@for phase in $(PHASES); do \
	  start=$$(date +%s); echo "== make $$phase"; \
	  $(MAKE) --no-print-directory $$phase || { echo "== make $$phase failed after $$(( $$(date +%s) - start )) s"; exit 1; }; \
	  echo "== make $$phase done in $$(( $$(date +%s) - start )) s"; \
	done

## prereqs: what the tests need, installed only when missing (Debian packages, cargo tools).
prereqs:
	@integration/prereqs.sh

lint:
	$(CARGO) fmt --all --check
	rustfmt --check --edition 2021 fuzz/src/lib.rs fuzz/fuzz_targets/*.rs
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings
	@# The mail library and TLS stay in cage-notify: never linked into cage or cagectl.
	@! $(CARGO) tree --locked -p cage -e normal,build | grep -E ' (lettre|rustls[a-z-]*|ring|webpki[a-z-]*) v' || \
	  (echo 'lint: the cage package must not depend on a mail or TLS library (see notifier/)'; exit 1)

check-policies:
	$(CARGO) run --quiet --locked --bin cagectl -- check $(POLICIES)

# One process per test (cargo nextest): jail tests fork, mount and drop privileges.
# The container tests run in `integration`, against a container started for them.
tests: probe
	$(CARGO) nextest run --locked --no-fail-fast -E 'not (binary(container) | binary(container_end))'

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
	$(CARGO) nextest run --locked --no-fail-fast -E 'binary(container) | binary(container_end)'; \
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

container:
	integration/container/build.sh

probe: $(PROBE)

$(PROBE): integration/probe/probe.c integration/probe/build.sh
	mkdir -p target
	integration/probe/build.sh $@

## bench: performance figures side by side with peers from one run (never asserted in tests).
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
	@command -v bwrap >/dev/null && command -v sudo >/dev/null || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap sudo)

## install: cage setuid root, cagectl, the notifier, the applet links, /etc/cage, /var/log/cage,
# the notification spool, /etc/shells. Built binaries are installed as they are; for another
# PREFIX the build runs again (a no-op when up to date) so that they know where it puts the
# notifier.
install:
	@if [ -n "$${CAGE_NOTIFIER:-}" ] || \
	    ! [ -x target/release/cage -a -x target/release/cagectl -a -x target/release/cage-notify ]; then \
	  $(CARGO) build --release --locked; fi
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/cage
	install -o root -g root -m 4755 target/release/cage $(DESTDIR)$(PREFIX)/bin/cage
	install -o root -g root -m 0755 target/release/cagectl $(DESTDIR)$(PREFIX)/bin/cagectl
	install -o root -g root -m 0755 tools/cage-verify-trail $(DESTDIR)$(PREFIX)/bin/cage-verify-trail
	install -o root -g root -m 0755 target/release/cage-notify $(DESTDIR)$(PREFIX)/lib/cage/cage-notify
	install -d -o root -g root -m 0700 $(DESTDIR)/var/spool/cage $(DESTDIR)/var/spool/cage/notify
	for applet in $(APPLETS); do ln -sf cage $(DESTDIR)$(PREFIX)/bin/$$applet; done
	install -d -o root -g root -m 0755 $(DESTDIR)/etc/cage $(DESTDIR)/etc/cage/policies
	install -d -o root -g root -m 0700 $(DESTDIR)/etc/cage/grants $(DESTDIR)/var/log/cage \
	  $(DESTDIR)/etc/cage/requests $(DESTDIR)/etc/cage/users
	install -d -o root -g root -m 0755 $(DESTDIR)/etc/cage/keys
	install -o root -g root -m 0644 $(POLICIES)/*.toml $(DESTDIR)/etc/cage/policies/
	test -f $(DESTDIR)/etc/cage/cage.toml || \
	  install -o root -g root -m 0644 integration/cage.toml.example $(DESTDIR)/etc/cage/cage.toml
	touch $(DESTDIR)/etc/shells
	grep -qxF $(PREFIX)/bin/cage $(DESTDIR)/etc/shells || echo $(PREFIX)/bin/cage >> $(DESTDIR)/etc/shells

## demo: an operator session on the bundled policies (CMD='...' runs one line and exits).
# The line reaches cage untouched: neither make nor a shell expands it.
demo: export CAGE_DEMO_LINE := $(value CMD)
demo:
	@integration/demo.sh

clean:
	$(CARGO) clean
