# imagegw. `make run` starts the gateway on its embedded mock cloud;
# `make test` installs what the tests need, runs them all and lists the
# tests that were skipped, with why.
GO      ?= go
LISTEN  ?= 127.0.0.1:3001
DATA    ?= ./data
export GOFLAGS := -buildvcs=false

.PHONY: build run test vet fuzz bench bench-go bench-wrk bench-limit bench-load
# The source revision goes into the binary (imagegw version, /version,
# imagegw_build_info); GOFLAGS disables Go's own VCS stamping.
REVISION ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
build:
	@echo "building bin/imagegw (the first build downloads the Go modules and compiles the cloud SDKs: a few minutes)"
	$(GO) build -ldflags "-X github.com/imagegw/imagegw/api.Revision=$(REVISION)" -o bin/imagegw ./cmd/imagegw

run: build
	./bin/imagegw serve --listen $(LISTEN) --data $(DATA)

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Under CI=true every simulator must be present: the tests fail instead of
# skipping, and the OpenStack stack is installed and started for the
# openstack driver's tests (test-openstack); elsewhere they skip unless the
# stack is already up. scripts/with-postgres.sh installs PostgreSQL when
# missing, runs the tests with a throwaway cluster on loopback (the
# PostgreSQL store, leases and replica tests use it) and stops it after.
#
# scripts/testsummary runs go test -json and prints what go test would, then
# each skipped test with its reason, then "tests: N passed, N failed, N skipped".
TEST = GO=$(GO) scripts/with-postgres.sh $(GO) run ./scripts/testsummary -race -count=1 -timeout 40m
test: vet test-deps
	@if [ "$$CI" = "true" ]; then \
	  $(TEST) $$($(GO) list ./... | grep -v '/drivers/openstack$$') && $(MAKE) test-openstack; \
	else \
	  $(TEST) ./...; \
	fi
	$(MAKE) fuzz FUZZTIME=15s

# fuzz runs each fuzz target (package:Name) for FUZZTIME, one after the
# other; `make test` runs them for 15 s each (7 targets: under 2 minutes
# plus builds). The seed corpora are the f.Add calls and testdata/fuzz; a
# failure writes its input to testdata/fuzz/<Name>/ for `go test` to replay.
FUZZTIME     ?= 30s
FUZZPARALLEL ?= 1
FUZZ_TARGETS := \
	./api/deltacloud:FuzzHandler \
	./api/deltacloud:FuzzBodyParams \
	./api/cloudapi:FuzzSignedRequest \
	./api/cloudapi/httpsig:FuzzParseAuthorization \
	./api/cloudapi/httpsig:FuzzVerify \
	./api/cloudapi/apiversion:FuzzNegotiate \
	./gateway:FuzzOverlayMeta
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -parallel $(FUZZPARALLEL) $$pkg; \
	done

# test-deps installs what the tests need from Debian when it is missing:
# chromium for the console's browser test (test/console). Without root or
# apt-get it only warns: the test then skips, or fails under CI=true.
.PHONY: test-deps
test-deps:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing chromium (Debian) for the console test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; \
	  else \
	    echo "chromium is missing and cannot be installed here (needs root and apt-get): the console test will skip (fail under CI=true)"; \
	  fi; \
	fi

bench: bench-go bench-wrk bench-load

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./api/... ./render/... ./store/... ./drivers/ec2/... ./drivers/vsphere/...

bench-wrk:
	scripts/bench-wrk.sh 10

# bench-limit: imagegw next to a plain net/http server sending the same
# bytes (docs/benchmarks.md, "limit").
bench-limit:
	scripts/bench-limit.sh 5

# bench-load: 64 connections of mixed reads for 60 s against the real
# binary on loopback (scripts/bench-load.sh); fails on any error. Figures:
# docs/benchmarks.md.
bench-load:
	scripts/bench-load.sh 60 64

# test-openstack starts Keystone, Glance, nova-api and a Neutron API from
# Debian 12 on loopback (scripts/openstack-up.sh: installs them first; needs
# root), runs the openstack driver's tests verbosely, fails if any test was
# skipped, and stops the stack.
.PHONY: test-openstack
OPENSTACK_TEST_LOG ?= /tmp/imagegw-openstack-test.log
test-openstack:
	scripts/openstack-up.sh up >/dev/null || { scripts/openstack-up.sh down; exit 1; }
	@rc=0; CI=true $(GO) test -race -count=1 -v -timeout 20m ./drivers/openstack/... >$(OPENSTACK_TEST_LOG) 2>&1 || rc=$$?; \
	  cat $(OPENSTACK_TEST_LOG); scripts/openstack-up.sh down; \
	  if grep -q -- '--- SKIP' $(OPENSTACK_TEST_LOG); then echo "test-openstack: tests were skipped (see above)"; exit 1; fi; \
	  exit $$rc
