# Bulwark build, test and demo. `make demo` and `make test` work on a fresh Debian 12 machine:
# both run `setup` first, which installs what is missing (apt packages, npm packages).
SHELL := /bin/bash
.DEFAULT_GOAL := build
NODE ?= node
# golang-go and the runtime-spec's Go sources (golang-github-opencontainers-specs-dev, whose JSON
# Schemas generate src/generated/) also build the benchmark's reference Go wrapper (bench/go-wrapper).
APT_PACKAGES := runc crun runsc containerd busybox-static golang-github-opencontainers-specs-dev golang-go musl-tools \
	              qemu-system-x86 cpio kmod gcc make g++ python3 libc6-dev jq
SPEC_SCHEMA_DIR ?= /usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema

.PHONY: setup apt-deps npm-deps build generate native ts test test-unit test-integration \
	      test-cgroupv2 demo bench clean

setup: apt-deps npm-deps

# Install only what is missing, so repeated runs cost nothing and need no network.
apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

npm-deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

build: setup generate native ts

generate: src/generated/validators.js
src/generated/validators.js: scripts/gen-spec.mjs src/profile/profile.schema.json src/host/config.schema.json
	$(NODE) scripts/gen-spec.mjs $(SPEC_SCHEMA_DIR)

native:
	$(MAKE) -C native

ts: generate
	npx tsc -p tsconfig.json
	@mkdir -p bin libexec/bulwark
	@install -m 0755 scripts/bulwark.sh bin/bulwark
	@ln -sfn ../../bin/bulwark-runtime libexec/bulwark/runc
	@# Per-profile handlers (docs/CONTAINERD.md): bin/bulwark-runtime-<p> (binary mode: the profile comes from the
	@# name), bin/containerd-shim-bulwark-<p>-v2 (shim mode), and libexec/bulwark/<p>/runc, the runc the shim puts first
	@# on the runc shim's PATH: a link to the launcher, which reads the profile from the path it was executed by
	@# (the runc shim calls it by the bare name "runc", so argv[0] cannot carry it; native/launcher.c).
	@for p in $$(cd profiles && ls *.yaml | sed 's/\.yaml$$//'); do [ "$$p" = audit ] && continue; ln -sfn bulwark-runtime bin/bulwark-runtime-$$p; ln -sfn containerd-shim-bulwark-v2 bin/containerd-shim-bulwark-$$p-v2; mkdir -p libexec/bulwark/$$p; ln -sfn ../../../bin/bulwark-runtime libexec/bulwark/$$p/runc; done

test: build
	$(MAKE) test-unit
	$(MAKE) test-integration
	@# The pure cgroup v2 proof boots a VM under software emulation; on a heavily loaded host the
	@# guest can stall (soft lockups), so one failed boot is retried, and said so.
	$(MAKE) test-cgroupv2 || { echo "test-cgroupv2 failed once; retrying (VM under software emulation)"; $(MAKE) test-cgroupv2; }

test-unit:
	scripts/tap.sh unit --timeout=300 'dist/test/**/*.test.js'

test-integration:
	scripts/tap.sh integration --jobs=1 --timeout=900 $$(find dist/integration -name '*.test.js' -not -path '*/cgroupv2/*' | sort)

demo: build
	$(NODE) dist/scripts/demo.js

bench: build
	$(NODE) dist/bench/run.js

clean:
	rm -rf dist bin build libexec native/build src/generated

# Pure cgroup v2 proof (this host is a v1/v2 hybrid): boots Debian's 6.1 kernel under qemu (software
# emulation) with the host's root shared read-only, runs real containers there (integration/vm/README.md).
# Bare runc and bin/bulwark-runtime, in one guest. Needs `make build` first (uses dist/ and bin/).
# prepare.sh fetches and caches the kernel (~20 s once; ~0.1 s cached); one run takes ~1.5-2 min
# on a 2-core host (each bulwark-runtime create starts Node under emulation: ~20-30 s).
test-cgroupv2:
	@test -x bin/bulwark-runtime -a -f dist/src/runtime/main.js -a -f dist/integration/cgroupv2/runc-v2.test.js \
	  || { echo "test-cgroupv2: bin/bulwark-runtime or dist/ missing: run make build first" >&2; exit 2; }
	bash integration/vm/prepare.sh
	scripts/tap.sh cgroupv2 --jobs=1 --timeout=900 'dist/integration/cgroupv2/*.test.js'
