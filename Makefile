# cage: the two commands are `make demo` and `make test` (see README.md).
CARGO ?= cargo
POLICIES := policies

.PHONY: all build test lint unit bench demo check-policies clean

all: build

build:
	$(CARGO) build --release --locked

## test: formatting, lints, every test. What CI runs.
test: lint unit check-policies

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings

unit:
	$(CARGO) test --locked

check-policies:
	$(CARGO) run --quiet --locked --bin cagectl -- check $(POLICIES)

## bench: performance figures, printed side by side (never asserted in tests).
bench:
	$(CARGO) bench --locked --bench decide

## demo: an operator session on the bundled policies.
demo:
	@echo "make demo: not yet - the interactive shell lands with the login-shell issue."
	@echo "Meanwhile, what an INFRA_DIAG operator on a cps host would be allowed:"
	@$(CARGO) build --quiet --locked --bin cagectl
	@for line in 'sudotail -n 50 /var/log/messages' 'journalctl -u sshd -n 20' \
	    'su - ecra' 'sudocat /etc/shadow' 'docker run -it debian bash' 'ls; /bin/sh'; do \
	  echo "\$$ $$line"; \
	  ./target/debug/cagectl explain --policies $(POLICIES) --layer cps --actions INFRA_DIAG -- "$$line" | sed 's/^/    /'; \
	done

clean:
	$(CARGO) clean
