# imagegw. `make run` starts the gateway on its embedded mock cloud;
# `make test` installs what the tests need and runs them all.
GO      ?= go
LISTEN  ?= 127.0.0.1:3001
DATA    ?= ./data
export GOFLAGS := -buildvcs=false

.PHONY: build run test vet bench
build:
	$(GO) build -o bin/imagegw ./cmd/imagegw

run: build
	./bin/imagegw serve --listen $(LISTEN) --data $(DATA)

vet:
	gofmt -l . | (! grep .) || (echo "gofmt needed on the files above" && exit 1)
	$(GO) vet ./...

test: vet
	$(GO) test -race -count=1 -timeout 30m ./...
