# vnfm: build, test, run and benchmark.
#
#   make            build/vnfmd, build/vnfmctl and the sample VNFs
#   make test       the whole test suite under ASan and UBSan (what CI runs)
#   make run        install missing packages, start a vnfmd and deploy a sample VNF
#   make bench      the benchmarks; results go to bench/results/
#   make format     apply .clang-format
#   make check-layers  the include rule between the folders of src/ (part of make test)
#   make fuzz       libFuzzer targets of the parsers (clang)
#
# SAN=1 builds into build/san with AddressSanitizer and UBSan.

BUILD := build
ifeq ($(SAN),1)
BUILD := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

PKGS := libuv jansson sqlite3 libcurl libxml-2.0 libssl libcrypto netsnmp
PKGS += libyang libnetconf2 libssh
# VNF packages (docs/PACKAGES.md): zip archives and their TOSCA YAML
PKGS += libzip yaml-0.1
# Service endpoints (docs/FEDERATION.md "Moves"): nftables DNAT
PKGS += libnftables
CC ?= cc
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -I. -Wall -Wextra -Werror -Wno-missing-field-initializers -D_GNU_SOURCE \
          -Isrc $(shell pkg-config --cflags $(PKGS)) $(SANFLAGS) -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
TEST_LDLIBS := -lcmocka

LIB_SRCS := $(wildcard src/*/*.c src/*/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# The NETCONF server's own YANG modules are compiled into the daemon.
YANG := $(wildcard yang/*.yang)
LIB_OBJS += $(BUILD)/src/netconf/nc_yang.o
# The console's files (docs/CONSOLE.md) are compiled into the daemon too.
WWW := $(sort $(wildcard www/*))
LIB_OBJS += $(BUILD)/src/ui/www.o
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
# The sample VNF packages (SOL004 CSARs, docs/PACKAGES.md), packed from
# their sources by vnfmctl package build.
PACKAGE_NAMES := $(notdir $(patsubst %/,%,$(wildcard examples/packages/*/)))
PACKAGES := $(PACKAGE_NAMES:%=$(BUILD)/examples/packages/%.zip)
PACKAGE_FILES := $(shell find examples/packages -type f -o -type l)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all test unit bench run hybrid hybrid-stop clean format check-format check-layers deps fuzz
all: $(BUILD)/vnfmd $(BUILD)/vnfmctl $(EXAMPLE_BINS) $(PACKAGES)

$(BUILD)/libvnfm.a: $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/vnfmd: $(BUILD)/src/vnfmd.o $(BUILD)/libvnfm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/vnfmctl: $(CLI_OBJS) $(BUILD)/libvnfm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libvnfm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvnfm.a $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/examples/%: examples/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< -lpthread -lm

$(BUILD)/examples/packages/%.zip: $(BUILD)/vnfmctl $(PACKAGE_FILES)
	@mkdir -p $(@D)
	$(BUILD)/vnfmctl package build examples/packages/$* $@

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvnfm.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvnfm.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/src/netconf/nc_yang.o: src/netconf/nc_yang.S $(YANG)
	@mkdir -p $(@D)
	$(CC) -c -o $@ $<

$(BUILD)/src/ui/www.S: $(WWW) scripts/embed-www
	@mkdir -p $(@D)
	scripts/embed-www $(WWW) > $@

$(BUILD)/src/ui/www.o: $(BUILD)/src/ui/www.S
	$(CC) -c -o $@ $<

unit: $(UNIT_BINS)

# The builds of `make test` run one compiler per core.
JOBS ?= $(shell nproc)

# The test suite always runs the sanitizer build, after the layer rule of
# docs/ARCHITECTURE.md (which folder may include which), and the fuzz
# targets for FUZZ_SECONDS each (tests/run).
test: check-layers
	$(MAKE) -j$(JOBS) SAN=1 all unit
	$(MAKE) -j$(JOBS) fuzz
	BUILD=build/san tests/run

check-layers:
	scripts/check-layers

bench:
	$(MAKE) all $(BENCH_BINS)
	bench/run

run:
	scripts/run.sh

# A cloud VNFM and three branch VNFMs on this machine, each branch behind a WAN
# link of its own, over TLS (docs/FEDERATION.md "Trying it: make hybrid").
hybrid:
	scripts/hybrid start

hybrid-stop:
	scripts/hybrid stop

deps:
	scripts/deps.sh

# The sources git tracks and the new ones it does not ignore (a new file
# not yet added must not slip past the check).
FORMAT_FILES = $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

format:
	clang-format -i $(FORMAT_FILES)

check-format:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build

# libFuzzer targets of the parsers (clang, fuzz/README.md): make fuzz builds
# them on the library compiled for fuzzing into build/fuzz; make test runs
# each for FUZZ_SECONDS (tests/fuzz). By hand: build/fuzz/fuzz_xml -max_total_time=60
FUZZ_CFLAGS := -g -O1 -std=gnu11 -I. -Isrc -D_GNU_SOURCE -Wall -Wextra -Wno-missing-field-initializers \
               $(shell pkg-config --cflags $(PKGS)) -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -MMD -MP
FUZZ_OBJS := $(LIB_SRCS:%.c=build/fuzz/%.o) build/fuzz/src/netconf/nc_yang.o build/fuzz/src/ui/www.o
FUZZ_SRCS := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:fuzz/%.c=build/fuzz/%)

fuzz: $(FUZZ_BINS)

build/fuzz/src/%.o: src/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/src/netconf/nc_yang.o: src/netconf/nc_yang.S $(YANG)
	@mkdir -p $(@D)
	clang -c -o $@ $<

build/fuzz/src/ui/www.o: $(BUILD)/src/ui/www.S
	clang -c -o $@ $<

build/fuzz/libvnfm.a: $(FUZZ_OBJS)
	rm -f $@
	$(AR) rcs $@ $^

build/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h build/fuzz/libvnfm.a
	clang $(FUZZ_CFLAGS) -Werror -fsanitize=fuzzer -o $@ $< build/fuzz/libvnfm.a $(LDLIBS)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(BUILD)/src/vnfmd.d $(FUZZ_OBJS:.o=.d)
