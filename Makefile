# Switchboard: `make run` starts the PBX with demo users, `make test` runs every test.
GO      ?= go
BIN     := bin/switchboard
PKGS    := ./...
LDFLAGS := -s -w

.PHONY: build run test test-short bench bench-sip vet fmt clean prompts

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

# Runs the PBX on its embedded default: switchboard.db and data/ in this
# folder, SIP on port 5060 (UDP and TCP), admin API on 127.0.0.1:8080, demo
# users 1001 and 1002 whose phones' credentials are printed at start.
run: build
	./$(BIN) serve --demo $(ARGS)

vet:
	$(GO) vet $(PKGS)

test: vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Go benchmarks of the hot paths, then the sipp REGISTER load, the call
# load through the proxy, concurrent voicemail deposits and concurrent
# bridged calls against a real server (registrations and calls per second,
# failures, peak memory, memory after the load; recordings held at once
# with their RTP loss, CPU and memory per recording; bridged calls up at
# once with RTP both ways, their loss, CPU per relayed packet and memory
# per call).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=1 $(PKGS)
	./scripts/bench-sip.sh
	./scripts/bench-call.sh
	./scripts/bench-voicemail.sh
	./scripts/bench-bridge.sh

# Regenerates prompts/en/*.wav from prompts/prompts.txt (needs espeak-ng and
# sox); commit the list and the files together.
prompts:
	./scripts/gen-prompts.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
