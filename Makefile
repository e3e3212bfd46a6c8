# novalite — GNU Makefile. `make run` and `make test` are the two set-up commands.
# Dependencies are found with pkg-config; `make deps` installs the Debian packages.
#
# The documented targets (run, run-vm, test, bench) install packages first and then build
# in a second make process: this make's pkg-config flags were read when it parsed this file,
# before the packages (pkg-config itself included) were there, so on a fresh machine its
# own build would compile and link with empty flags. The flags are also checked before a
# build, so a missing package is named instead of an undefined reference.

PKGS      := libmicrohttpd jansson sqlite3 libsodium inih libssh uuid libcrypto libvirt libcurl
BUILD_DEPS := build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev \
              libsodium-dev libinih-dev libssh-dev uuid-dev libssl-dev \
              libvirt-dev libcurl4-openssl-dev
# Real guests (qemu:///system): libvirt's daemons, QEMU, the config drive's ISO writer,
# guest networking (dnsmasq), and what tests/fixtures/make-guest-image.sh builds from.
VM_DEPS   := libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils genisoimage \
             dnsmasq-base busybox-static cpio kmod isolinux syslinux-common syslinux-utils
TEST_DEPS := clang libclang-rt-14-dev libcmocka-dev python3-pytest python3-requests python3-jsonschema \
             python3-openstackclient python3-novaclient python3-openstacksdk \
             python3-tempest python3-glanceclient python3-pytest-xdist wrk sqlite3 openssh-client curl qemu-utils \
             $(VM_DEPS)

CC       ?= cc
PYTHON   := /usr/bin/python3
# -Wformat-truncation is GCC's (clang, used for the fuzz build, has no such option); clang's
# -Wmissing-field-initializers also fires on designated initializers, GCC's does not.
CC_IS_CLANG := $(if $(filter build-fuzz,$(BUILD)),1,$(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1))
WARN_GCC := $(if $(CC_IS_CLANG),-Wno-missing-field-initializers,-Wno-format-truncation)
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral $(WARN_GCC) \
               -D_GNU_SOURCE -I. $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm

BUILD ?= build
ifeq ($(BUILD),build-asan)
  OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=address,undefined
else ifeq ($(BUILD),build-fuzz)
  # libFuzzer (make fuzz): the library gets coverage instrumentation, the targets libFuzzer's main().
  CC       := clang
  OPTFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
              -fno-sanitize-recover=undefined
  LDFLAGS  += -fsanitize=fuzzer,address,undefined
else
  OPTFLAGS := -O2 -g
endif
CFLAGS += $(CFLAGS_BASE) $(OPTFLAGS) -MMD -MP

COMMON_SRC := $(wildcard common/*.c)
DB_SRC     := $(wildcard db/*.c)
API_SRC    := $(filter-out api/main.c api/manage.c,$(wildcard api/*.c api/identity/*.c api/compute/*.c api/image/*.c \
              api/internal/*.c))
SCHED_SRC  := $(wildcard scheduler/*.c)
AGENT_SRC  := $(filter-out compute/main.c,$(wildcard compute/*.c))
LIB_SRC    := $(COMMON_SRC) $(DB_SRC) $(API_SRC) $(SCHED_SRC) $(AGENT_SRC)
LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
MIGRATIONS := $(sort $(wildcard db/migrations/*.sql))

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all asan check-pkgs deps deps-build deps-vm run run-vm test unit unit-build integration bench clean \
        tempest-gate conformance
all: $(BUILD)/novalite-api $(BUILD)/novalite-manage $(BUILD)/novalite-compute

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

# Migrations are compiled into the binary so a single file is all an operator installs.
$(BUILD)/gen/migrations.c: $(MIGRATIONS) tools/embed_migrations.sh
	@mkdir -p $(dir $@)
	@sh tools/embed_migrations.sh $(MIGRATIONS) > $@
$(BUILD)/obj/gen/migrations.o: $(BUILD)/gen/migrations.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libnovalite.a: $(LIB_OBJ) $(BUILD)/obj/gen/migrations.o
	@echo "  AR      $@"
	@ar rcs $@ $^

$(BUILD)/novalite-api: $(BUILD)/obj/api/main.o $(BUILD)/libnovalite.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/novalite-manage: $(BUILD)/obj/api/manage.o $(BUILD)/libnovalite.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/novalite-compute: $(BUILD)/obj/compute/main.o $(BUILD)/libnovalite.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# One scheduling decision over many simulated hosts (make bench).
$(BUILD)/sched-bench: $(BUILD)/obj/tests/bench/sched_bench.o $(BUILD)/libnovalite.a
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(BUILD)/libnovalite.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

asan:
	$(MAKE) BUILD=build-asan all

# Fuzzing (docs/fuzzing.md): one libFuzzer target per parser in the request path, built by
# clang into build-fuzz/, each started from its checked-in seeds in tests/fuzz/corpus/<t>/.
# `make fuzz` runs each for FUZZ_SECONDS (new inputs kept in build-fuzz/corpus/<t>/);
# `make fuzz-smoke` runs each for FUZZ_SMOKE_SECONDS and prints one line per target and
# "N passed, N failed". A crash leaves build-fuzz/crash-<t>-* (rerun: build-fuzz/fuzz/<t> FILE).
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 12
.PHONY: fuzz fuzz-build fuzz-smoke
fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz $(FUZZ_TARGETS:%=build-fuzz/fuzz/%)
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/libnovalite.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) keep $(FUZZ_TARGETS)
fuzz-smoke: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SMOKE_SECONDS) smoke $(FUZZ_TARGETS)

# Install what is missing (as root), or print the one line to run.
deps:
	@sh tools/deps.sh $(BUILD_DEPS) $(TEST_DEPS)
deps-build:
	@sh tools/deps.sh $(BUILD_DEPS)

# Fails with the missing packages' names instead of a wall of undefined references.
check-pkgs:
	@pkg-config --exists $(PKGS) 2>/dev/null || { \
	  echo "novalite: pkg-config cannot find: $$(for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || printf '%s ' $$p; done)"; \
	  echo "  run 'make deps-build' (as root) or: apt-get install $(BUILD_DEPS)"; exit 1; }
$(LIB_OBJ) $(BUILD)/obj/api/main.o $(BUILD)/obj/api/manage.o $(BUILD)/obj/compute/main.o: | check-pkgs

run: deps-build
	@$(MAKE) --no-print-directory all
	./$(BUILD)/novalite-api --state-dir var $(RUN_FLAGS)

# The all-in-one cloud with real guests: its agent on qemu:///system (KVM when the probe
# says it works, else TCG), guests on a NAT network. The tiny test guest is built first.
deps-vm:
	@sh tools/deps.sh $(BUILD_DEPS) $(VM_DEPS)
run-vm: deps-vm
	@$(MAKE) --no-print-directory all
	@sh tools/libvirtd.sh
	@sh tests/fixtures/make-guest-image.sh build/guest >/dev/null && echo "guest image: build/guest/guest.qcow2"
	./$(BUILD)/novalite-api --config etc/novalite-vm.conf $(RUN_FLAGS)

unit-build: $(UNIT_BIN)
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do $$t || fail=1; done; exit $$fail

integration: all
	NOVALITE_API_BIN=$(CURDIR)/$(BUILD)/novalite-api $(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# OpenStack's Tempest (python3-tempest 33) as the referee, against a fresh daemon on free
# loopback ports (tests/tempest/gate.py). tempest-gate: the interop-required subset, compared
# with tests/tempest/expected-*.txt, non-zero on a regression. conformance: all of compute,
# identity v3 and image v2, per-module counts into docs/conformance.md (never fails on counts).
tempest-gate: all
	@sh tests/tempest/run.sh gate $(TEMPEST_FLAGS)
conformance: all
	@sh tests/tempest/run.sh wide --no-compare $(TEMPEST_FLAGS)

test: deps
	@sh tools/test.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/sched-bench
	sh tests/bench/run.sh

clean:
	rm -rf build build-asan build-fuzz build-clang

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
