# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# flowqoe - one Makefile.  `make` builds build/flowqoe; `make help` lists targets.

ARCH       ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BUILD      ?= build
CLANG      ?= clang
BPFTOOL    ?= bpftool
CC         ?= cc
PREFIX     ?= /usr/local
VENV       ?= .venv
PYTHON     ?= python3

VMLINUX    := vmlinux/$(ARCH)/vmlinux.h
# BPF_NO_PRESERVE_ACCESS_INDEX: vmlinux.h would otherwise mark every struct
# for CO-RE relocation, and the programs touch only wire formats (Ethernet,
# VLAN, IP, TCP, UDP headers) and UAPI contexts (xdp_md, __sk_buff), whose
# layout no kernel changes.  Those ~380 relocations made libbpf parse the
# kernel's whole BTF at every load: 11.7 MB of heap (heaptrack), so replay's
# peak RSS was 18.4 MB, 10.9 MB without.  Reading a kernel-internal struct
# still gets CO-RE, explicitly, with BPF_CORE_READ / bpf_core_* (those
# relocations are emitted regardless of this flag).
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
              -DBPF_NO_PRESERVE_ACCESS_INDEX \
              -I$(dir $(VMLINUX)) -Ibpf -Ishaper -Wall -Wno-unused-function
CFLAGS     ?= -O2 -g
CFLAGS     += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
              -I$(BUILD) -Ibpf -Ishaper -Iuser
LDLIBS     := -lbpf -lelf -lz -lpcap -lmicrohttpd -ljansson -lpthread -lm

# BPF objects: every bpf/*.bpf.c and shaper/*.bpf.c gets an object and a skeleton.
BPF_SRCS   := $(wildcard bpf/*.bpf.c shaper/*.bpf.c)
BPF_OBJS   := $(patsubst %.bpf.c,$(BUILD)/%.bpf.o,$(notdir $(BPF_SRCS)))
SKELS      := $(patsubst %.bpf.c,$(BUILD)/%.skel.h,$(notdir $(BPF_SRCS)))
BPF_HDRS   := $(wildcard bpf/*.h shaper/*.h)

# Userspace: every user/*.c except main.c is library code shared with tests.
USER_SRCS  := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS  := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
USER_HDRS  := $(wildcard user/*.h) $(BPF_HDRS)

.PHONY: all clean deps venv test test-unit test-root bench fuzz install demo vmlinux help test-vm test-vm-selftest
all: $(BUILD)/flowqoe

help:
	@echo "make            build $(BUILD)/flowqoe"
	@echo "make demo       install deps, build, run a live demo over two network namespaces"
	@echo "make test       install deps, build, run every test tier (needs root)"
	@echo "make bench      benchmarks (ratios against baselines measured in the same run)"
	@echo "make fuzz       fuzz targets (not run in CI)"
	@echo "make venv       Python venv with scikit-learn etc. for models/ and reference tools"
	@echo "make test-vm    kernel test suites inside virtme-ng VMs"
	@echo "make install    install flowqoe and its man page under PREFIX=$(PREFIX)"
	@echo "make vmlinux    regenerate $(VMLINUX) from /sys/kernel/btf/vmlinux"

$(BUILD) $(BUILD)/user $(BUILD)/tests:
	mkdir -p $@

vmlinux:
	mkdir -p $(dir $(VMLINUX))
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX).tmp
	mv $(VMLINUX).tmp $(VMLINUX)

# clang -> bpftool gen object (static linking, strips DWARF) -> skeleton
$(BUILD)/%.tmp.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/%.tmp.o: shaper/%.bpf.c $(BPF_HDRS) $(VMLINUX) | $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/%.bpf.o: $(BUILD)/%.tmp.o
	$(BPFTOOL) gen object $@ $<
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS) | $(BUILD)/user
	$(CC) $(CFLAGS) -c $< -o $@

# The native engine: the datapath source (bpf/flowqoe.bpf.c) compiled as
# userspace C; user/native/ stands in for vmlinux.h and bpf_helpers.h.  Only
# its fqn_* API stays global, so the datapath's names cannot clash.
$(BUILD)/user/native.o: user/native.c user/native/vmlinux.h user/native/bpf/bpf_helpers.h \
		bpf/flowqoe.bpf.c $(USER_HDRS) | $(BUILD)/user
	$(CC) -Iuser/native $(CFLAGS) -c $< -o $@.tmp
	objcopy -w --keep-global-symbol='fqn_*' $@.tmp $@ && rm -f $@.tmp

$(BUILD)/libflowqoe.a: $(USER_OBJS)
	$(AR) rcs $@ $^

# every object linked directly (not through the archive) so that features
# registering themselves from constructors (fq_attach_register) are kept
$(BUILD)/flowqoe: $(BUILD)/user/main.o $(USER_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests ---------------------------------------------------------------
# Every tests/unit/*.c and tests/progrun/*.c is one test program linked with
# libflowqoe.a.  tests/run runs all tiers and prints "N passed, N failed".
TEST_SRCS  := $(wildcard tests/unit/*.c tests/progrun/*.c)
TEST_BINS  := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRCS))

$(BUILD)/tests/%: tests/%.c tests/testlib.h $(BUILD)/libflowqoe.a $(SKELS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libflowqoe.a $(LDLIBS)

tests: $(BUILD)/flowqoe $(TEST_BINS)

# The README's test command: installs what it needs, builds, runs every tier.
test: deps
	$(MAKE) tests
	tests/run

deps:
	.ci/deps.sh

# The root suites inside virtme-ng VMs of each kernel in tests/vm/matrix
# (tests/vm/run.sh installs qemu, udev and virtme-ng, fetches the kernels).
test-vm: all tests
	tests/vm/run.sh
test-vm-selftest: all tests
	tests/vm/selftest.sh

demo: deps
	$(MAKE) all
	tests/demo.sh $(IFACE)

venv: $(VENV)/.done
$(VENV)/.done: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements.txt
	touch $@

bench: all tests
	bench/run

# bench/*.bpf.c are bench-only (outside the bpf/ wildcard): own rules,
# skeletons named bench_<name>.  flowbench includes bpf/flowqoe.bpf.c.
$(BUILD)/bench/%.tmp.o: bench/%.bpf.c bpf/flowqoe.bpf.c $(BPF_HDRS) $(VMLINUX)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_$* > $@.tmp && mv $@.tmp $@
$(BUILD)/bench/datapath: bench/datapath.c bench/bench.h $(BUILD)/bench/empty.skel.h \
		$(BUILD)/bench/flowbench.skel.h $(BUILD)/bench/atomic.skel.h $(BUILD)/libflowqoe.a
	$(CC) $(CFLAGS) -I$(BUILD)/bench -o $@ $< $(BUILD)/libflowqoe.a $(LDLIBS)
bench: $(BUILD)/bench/datapath
$(BUILD)/bench/windows: bench/windows.c bench/bench.h $(BUILD)/bench/flowbench.skel.h $(BUILD)/bench/winrb.skel.h \
		$(BUILD)/libflowqoe.a
	$(CC) $(CFLAGS) -I$(BUILD)/bench -o $@ $< $(BUILD)/libflowqoe.a $(LDLIBS)
bench: $(BUILD)/bench/windows
$(BUILD)/bench/replayfloor: bench/replayfloor.c bench/bench.h $(BUILD)/bench/empty.skel.h $(BUILD)/libflowqoe.a
	$(CC) $(CFLAGS) -I$(BUILD)/bench -o $@ $< $(BUILD)/libflowqoe.a $(LDLIBS)
bench: $(BUILD)/bench/replayfloor

$(BUILD)/flowqoe.8: $(BUILD)/flowqoe docs/mkman.sh
	docs/mkman.sh $(BUILD)/flowqoe > $@.tmp && mv $@.tmp $@

install: $(BUILD)/flowqoe $(BUILD)/flowqoe.8
	install -D -m 0755 $(BUILD)/flowqoe $(DESTDIR)$(PREFIX)/sbin/flowqoe
	install -D -m 0644 $(BUILD)/flowqoe.8 $(DESTDIR)$(PREFIX)/share/man/man8/flowqoe.8

clean:
	rm -rf $(BUILD)

.SECONDARY:

# Shipped models (models/*.model and their reports), retrained from
# ../shared/data with every feature through flowqoe replay (needs root).
.PHONY: models
models: all venv
	models/train.sh

# ---- fuzzing (libFuzzer + ASan/UBSan; not run in CI) ---------------------
# Every tests/fuzz/fuzz_X.c is a target; FUZZ_DEPS_fuzz_X names the user/
# sources it is compiled with (instrumented).  `make fuzz` runs each for
# FUZZ_SECONDS from build/fuzz/corpus/fuzz_X plus tests/fuzz/seeds/fuzz_X,
# with tests/fuzz/fuzz_X.dict when present; a crash stops it (crash-* file).
FUZZ_SECONDS ?= 60
FUZZ_SRCS  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_DEPS_fuzz_model := user/model.c
$(BUILD)/fuzz/fuzz_model: user/model.c
FUZZ_DEPS_fuzz_pcap := user/pcapframe.c
FUZZ_LIBS_fuzz_pcap := -lpcap
$(BUILD)/fuzz/fuzz_pcap: user/pcapframe.c
# the datapath, through the native engine (bpf/flowqoe.bpf.c as userspace C)
FUZZ_DEPS_fuzz_datapath := user/native.c user/fqn_map.c
FUZZ_CFLAGS_fuzz_datapath := -Iuser/native
$(BUILD)/fuzz/fuzz_datapath: user/native.c user/fqn_map.c bpf/flowqoe.bpf.c user/native/bpf/bpf_helpers.h
$(BUILD)/fuzz/%: tests/fuzz/%.c $(USER_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-std=gnu11 -D_GNU_SOURCE $(FUZZ_CFLAGS_$*) -Iuser -Ibpf -I$(BUILD) -o $@ $< $(FUZZ_DEPS_$*) $(FUZZ_LIBS_$*) -lm
fuzz: $(FUZZ_BINS)
	@for b in $(FUZZ_BINS); do n=$$(basename $$b); c=$(BUILD)/fuzz/corpus/$$n; \
		mkdir -p $$c; d=; [ -f tests/fuzz/$$n.dict ] && d=-dict=$(CURDIR)/tests/fuzz/$$n.dict; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		( cd $(BUILD)/fuzz && ./$$n $$d -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			corpus/$$n $(CURDIR)/tests/fuzz/seeds/$$n ) || exit 1; done
