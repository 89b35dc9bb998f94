# imagegw. `make run` starts the gateway on its embedded mock cloud;
# `make test` installs what the tests need and runs them all.
GO      ?= go
LISTEN  ?= 127.0.0.1:3001
DATA    ?= ./data
export GOFLAGS := -buildvcs=false

.PHONY: build run test vet bench bench-go bench-wrk
build:
	$(GO) build -o bin/imagegw ./cmd/imagegw

run: build
	./bin/imagegw serve --listen $(LISTEN) --data $(DATA)

vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Under CI=true every simulator must be present: the tests fail instead of
# skipping, and the OpenStack stack is installed and started too.
test: vet
	$(GO) test -race -count=1 -timeout 40m ./...
	@if [ "$$CI" = "true" ]; then $(MAKE) test-openstack; fi

bench: bench-go bench-wrk

bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 5x ./api/... ./render/... ./store/...

bench-wrk:
	scripts/bench-wrk.sh 10
