# imagegw. `make run` starts the gateway on its embedded mock cloud;
# `make test` installs what the tests need and runs them all.
GO      ?= go
LISTEN  ?= 127.0.0.1:3001
DATA    ?= ./data
export GOFLAGS := -buildvcs=false

.PHONY: build run test vet fuzz bench bench-go bench-wrk bench-limit
build:
	$(GO) build -o bin/imagegw ./cmd/imagegw

run: build
	./bin/imagegw serve --listen $(LISTEN) --data $(DATA)

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Under CI=true every simulator must be present: the tests fail instead of
# skipping, and the OpenStack stack is installed and started for the
# openstack driver's tests (test-openstack); elsewhere they skip unless the
# stack is already up.
test: vet
	@if [ "$$CI" = "true" ]; then \
	  $(GO) test -race -count=1 -timeout 40m $$($(GO) list ./... | grep -v '/drivers/openstack$$') && $(MAKE) test-openstack; \
	else \
	  $(GO) test -race -count=1 -timeout 40m ./...; \
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

bench: bench-go bench-wrk

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./api/... ./render/... ./store/... ./drivers/ec2/... ./drivers/vsphere/...

bench-wrk:
	scripts/bench-wrk.sh 10

# bench-limit: imagegw next to a plain net/http server sending the same
# bytes (docs/benchmarks.md, "limit").
bench-limit:
	scripts/bench-limit.sh 5

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
