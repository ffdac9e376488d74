# skiff — build, test, demo, benchmark. Every install step lives here.
#   make demo   install what is missing, build, run a busybox container
#   make test   install what is missing, build, run unit and integration tests
#   make bench  skiff vs podman vs bwrap, side by side (hyperfine)
#   make man    the man pages (bin/man/man1), make completions the scripts in completions/

GO        ?= go
CC        ?= gcc
TAGS      := exclude_graphdriver_btrfs exclude_graphdriver_devicemapper containers_image_openpgp urfave_cli_no_docs
VERSION   := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0-dev)
GOFLAGS_B := -mod=vendor -trimpath -tags '$(TAGS)' -ldflags '-s -w -X main.version=$(VERSION)'
PREFIX    ?= /usr/local
SYSTEMD_DIR ?= /usr/lib/systemd
# The docs build: the whole command tree (skiff_image) and the man page writer (skiff_docs).
DOCS_TAGS := skiff_image skiff_docs $(TAGS)
# Debian packages the build, the tests, the demo and the benchmark need.
BUILD_PKGS := gcc libc6-dev musl-tools libseccomp-dev pkg-config make git
RUN_PKGS   := uidmap busybox-static util-linux procps passt
TEST_PKGS  := bsdextrautils iproute2 python3 docker-registry skopeo podman runc apache2-utils curl debootstrap \
              zsh fish man-db groff
BENCH_PKGS := hyperfine podman runc bubblewrap docker-registry debootstrap buildah

LEAN_CC   := $(shell command -v musl-gcc 2>/dev/null || echo $(CC))
# The lean skiff is built with two of Go 1.26's opt-outs, where the toolchain still offers them.
# A skiff command is a short process, and on a VM mostly page faults (~11 us each on the bench
# machine): nogreenteagc, the previous garbage collector (Green Tea writes each new span's mark
# bits at the span's end, one page fault more per span); norandomizedheapbase64, the heap at
# the start of its first 4 MiB chunk as before 1.26, so that pkg/hugepage's two huge pages hold
# all of it (with a random start the heap often runs into a chunk mapped later, without them).
# That randomization hardens Go heaps that C code can reach: the lean skiff's C is its namespace
# constructor (run before the Go runtime), a signal handler that writes a byte to a pipe, and
# musl's user lookups; none keeps or writes through a Go pointer. With pkg/hugepage, run --rm
# 25.2 -> 21.4 ms and images 10.4 -> 8.4 ms after podman runs, as in make bench (A/B, 50 runs
# each); see test/bench/README.md.
LEAN_GOEXP := $(shell for e in nogreenteagc norandomizedheapbase64; do GOEXPERIMENT=$$e $(GO) env GOEXPERIMENT >/dev/null 2>&1 && printf '%s,' $$e; done | sed 's/,$$//')

GO_SOURCES := $(shell find cmd pkg -name '*.go' -o -name '*.c' -o -name '*.h') go.mod go.sum

.PHONY: all build deps deps-bench test unit integration lint demo bench install clean vendor man completions

all: build

build: bin/skiff bin/skiff-init bin/skiff-image bin/skiff-pull bin/skiff-systemd-generator

# Linked statically with musl where musl-gcc is installed (make deps does): the dynamic loader
# and glibc's start-up are each about a millisecond of every skiff command on a VM.
bin/skiff: $(GO_SOURCES)
	@mkdir -p bin
	CC=$(LEAN_CC) CGO_ENABLED=1 GOEXPERIMENT=$(LEAN_GOEXP) $(GO) build $(subst -ldflags ',-ldflags '-linkmode external -extldflags -static ,$(GOFLAGS_B)) -o $@ ./cmd/skiff

# The same command with containers/image linked in: pull, push, save, load, login, logout.
# skiff execs it for those, so that run, images and the rest do not pay for containers/image.
bin/skiff-image: $(GO_SOURCES)
	@mkdir -p bin
	CGO_ENABLED=1 $(GO) build $(subst -tags ',-tags 'skiff_image ,$(GOFLAGS_B)) -o $@ ./cmd/skiff

# The lean skiff with a registry client, for pull: a pull with nothing to do is answered
# without containers/image; the run path does not link net/http.
bin/skiff-pull: $(GO_SOURCES)
	@mkdir -p bin
	CGO_ENABLED=1 $(GO) build $(subst -tags ',-tags 'skiff_pull ,$(GOFLAGS_B)) -o $@ ./cmd/skiff

# systemd's generator for .container files (pkg/unit); no cgo, nothing of the store linked.
bin/skiff-systemd-generator: $(GO_SOURCES)
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -mod=vendor -trimpath -ldflags '-s -w' -o $@ ./cmd/skiff-systemd-generator

# The init shim: static, libc only, so it runs the same in every container. With musl it is
# 100 kB, and the keeper of a detached container stays near 150 kB of memory (glibc: 860 kB);
# musl-gcc finds the kernel's headers after its own.
bin/skiff-init: libexec/skiff-init/skiff-init.c
	@mkdir -p bin
	$(LEAN_CC) -O2 -static -Wall -Wextra -Werror -idirafter /usr/include -idirafter /usr/include/$(shell $(CC) -print-multiarch) -o $@ $<

# The man page writer: skiff-image's command tree with cmd/skiff/man.go; built for make man only,
# so that neither skiff nor skiff-image carries it.
bin/skiff-docs: $(GO_SOURCES)
	@mkdir -p bin
	CGO_ENABLED=1 $(GO) build -mod=vendor -trimpath -tags '$(DOCS_TAGS)' -ldflags '-s -w -X main.version=$(VERSION)' -o $@ ./cmd/skiff

# skiff(1) and a page per command and subcommand (skiff-run(1), skiff-volume-create(1)).
man: bin/skiff-docs
	@rm -rf bin/man
	bin/skiff-docs man-pages bin/man/man1

# The completion scripts in completions/, made from the command definitions (a unit test checks
# that the committed ones are up to date).
completions: bin/skiff-image
	bin/skiff-image completion bash > completions/bash/skiff
	bin/skiff-image completion zsh > completions/zsh/_skiff
	bin/skiff-image completion fish > completions/fish/skiff.fish

# deps installs missing Debian packages when run as root; otherwise it says what is missing.
define install_pkgs
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    (apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null)) \
	      || { echo "apt-get install$$missing failed"; exit 1; }; \
	  else echo "missing Debian packages:$$missing — run: sudo apt-get install$$missing"; exit 1; fi; \
	fi
endef

deps:
	$(call install_pkgs,$(BUILD_PKGS) $(RUN_PKGS) $(TEST_PKGS))
	@[ -c /dev/net/tun ] && [ "$$(id -u)" = 0 ] && chmod 666 /dev/net/tun || true

deps-bench: deps
	$(call install_pkgs,$(BENCH_PKGS))

lint:
	@out=$$(gofmt -l cmd pkg test); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	CGO_ENABLED=1 $(GO) vet -mod=vendor -tags '$(TAGS)' ./cmd/... ./pkg/... ./test/...
	CGO_ENABLED=1 $(GO) vet -mod=vendor -tags 'skiff_image $(TAGS)' ./cmd/...
	CGO_ENABLED=1 $(GO) vet -mod=vendor -tags 'skiff_pull $(TAGS)' ./cmd/...
	CGO_ENABLED=1 $(GO) vet -mod=vendor -tags '$(DOCS_TAGS)' ./cmd/...

unit: build
	CGO_ENABLED=1 $(GO) test -mod=vendor -tags '$(TAGS)' -count=1 ./cmd/... ./pkg/...
	CGO_ENABLED=1 $(GO) test -mod=vendor -tags '$(DOCS_TAGS)' -count=1 -run 'TestCompletion|TestMan' ./cmd/skiff

integration: build
	cd test && SKIFF_BIN=$(CURDIR)/bin/skiff $(GO) test -mod=vendor -count=1 -timeout 20m -v ./...

test: deps build lint unit integration

demo: deps build
	@bash contrib/demo.sh $(CURDIR)/bin/skiff

bench: deps-bench build
	@bash test/bench/bench.sh $(CURDIR)/bin/skiff
	@bash test/bench/pull.sh
	@bash test/bench/build.sh
	@bash test/bench/net.sh
	@bash test/bench/limits.sh

install: build man
	install -D -m 0755 bin/skiff $(DESTDIR)$(PREFIX)/bin/skiff
	install -D -m 0755 bin/skiff-init $(DESTDIR)$(PREFIX)/libexec/skiff/skiff-init
	install -D -m 0755 bin/skiff-image $(DESTDIR)$(PREFIX)/libexec/skiff/skiff-image
	install -D -m 0755 bin/skiff-pull $(DESTDIR)$(PREFIX)/libexec/skiff/skiff-pull
	install -D -m 0755 bin/skiff-systemd-generator $(DESTDIR)$(PREFIX)/libexec/skiff/skiff-systemd-generator
	install -d $(DESTDIR)$(SYSTEMD_DIR)/system-generators $(DESTDIR)$(SYSTEMD_DIR)/user-generators
	ln -sf $(PREFIX)/libexec/skiff/skiff-systemd-generator $(DESTDIR)$(SYSTEMD_DIR)/system-generators/skiff-systemd-generator
	ln -sf $(PREFIX)/libexec/skiff/skiff-systemd-generator $(DESTDIR)$(SYSTEMD_DIR)/user-generators/skiff-systemd-user-generator
	install -D -m 0644 completions/bash/skiff $(DESTDIR)$(PREFIX)/share/bash-completion/completions/skiff
	install -D -m 0644 completions/zsh/_skiff $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_skiff
	install -D -m 0644 completions/fish/skiff.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/skiff.fish
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0644 bin/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

vendor:
	$(GO) mod tidy && $(GO) mod vendor

clean:
	rm -rf bin
