# SPDX-License-Identifier: GPL-2.0
#
# make            build vmmig.ko for every targeted kernel, and the tools
# make check      host unit tests, module builds, the in-VM suite on each kernel
# make demo       build, boot a test kernel and show vmmig working
# make help       every target

VERSION := $(shell sed -n 's/^\#define VMMIG_VERSION "\(.*\)"/\1/p' kmod/version.h)
BUILD   := $(CURDIR)/build
V       ?= 0
ifeq ($(V),0)
Q := @
MAKEFLAGS += --no-print-directory
endif

# Kernels: KDIR= builds for that tree only; otherwise every installed Debian
# kernel that has its headers (the test targets are 6.1 and 6.12).
ifdef KDIR
KVERS := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
else
KVERS := $(sort $(foreach k,$(wildcard /boot/vmlinuz-*),\
	$(if $(wildcard /lib/modules/$(patsubst /boot/vmlinuz-%,%,$(k))/build/Makefile),\
	$(patsubst /boot/vmlinuz-%,%,$(k)))))
endif
KVER ?= $(if $(KDIR),$(KVERS),$(shell uname -r))
kdir = $(if $(KDIR),$(KDIR),/lib/modules/$(1)/build)

# kmod/*.mod.c is made by a build from the top-level Kbuild, not a source.
KMOD_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.[ch]))
KSRCS := $(KMOD_SRCS) kmod/Kbuild uapi/linux/vmmig.h include/vmmig/cpuid_table.h kmod/kvm-symbols
MODULES := $(foreach v,$(KVERS),$(BUILD)/kmod/$(v)/vmmig.ko)

# check, demo and bench build with one job per CPU.
NPROC   := $(shell nproc 2>/dev/null || echo 1)
CC      ?= gcc
PKGS    := libnl-genl-3.0 json-c uuid openssl libzstd liblz4 libsystemd libbpf
CFLAGS  ?= -O2 -g
WFLAGS  := -Wall -Wextra -Werror -Wno-unused-parameter -Wmissing-prototypes \
	   -Wstrict-prototypes -Wshadow
# lib/ by -iquote: its features.h and cpuid.h must not hide glibc's
# <features.h> and GCC's <cpuid.h> from the system headers.
CPPFLAGS += -D_GNU_SOURCE -I$(CURDIR)/uapi -I$(CURDIR)/include -iquote $(CURDIR)/tools/vmmig/lib \
	    -I$(CURDIR)/tools/vmmig/migrate \
	    -I$(CURDIR)/tools/vmmig/guest -DVMMIG_VERSION='"$(VERSION)"'
# Expanded by the recipes that need them only: a missing package stops the
# build with its name, not with a compiler error about a header.
pkg_missing = $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo y),,$(p))))
pkg = $(if $(shell command -v pkg-config),,$(error pkg-config is not installed: run 'make deps'))$(if \
	$(pkg_missing),$(error pkg-config cannot find $(pkg_missing): run 'make deps'))$(shell \
	pkg-config $(1) $(PKGS))
PKG_CFLAGS = $(call pkg,--cflags)
PKG_LIBS   = $(call pkg,--libs)

# libvmmig.a: lib/ (shared by every program) and migrate/ (the migration
# engine: streams, compression, convergence, the host-to-host protocol).
LIB_SRCS := $(wildcard tools/vmmig/lib/*.c)
MIG_SRCS := $(wildcard tools/vmmig/migrate/*.c)
LIB_OBJS := $(patsubst tools/vmmig/lib/%.c,$(BUILD)/obj/lib/%.o,$(LIB_SRCS)) \
	    $(patsubst tools/vmmig/migrate/%.c,$(BUILD)/obj/migrate/%.o,$(MIG_SRCS))
LIBVMMIG := $(BUILD)/obj/libvmmig.a
CLI_SRCS := $(wildcard tools/vmmig/cli/*.c)
CLI_OBJS := $(patsubst tools/vmmig/cli/%.c,$(BUILD)/obj/cli/%.o,$(CLI_SRCS))
HDRS     := $(wildcard tools/vmmig/cli/*.h tools/vmmig/lib/*.h tools/vmmig/vmm/*.h \
	      tools/vmmig/guest/*.h tools/vmmig/migrate/*.h tools/vmmig/daemon/*.h) uapi/linux/vmmig.h include/vmmig/cpuid_table.h
DAEMON_SRCS := $(wildcard tools/vmmig/daemon/*.c)
DAEMON_OBJS := $(patsubst tools/vmmig/daemon/%.c,$(BUILD)/obj/daemon/%.o,$(DAEMON_SRCS))
VMM_SRCS := $(wildcard tools/vmmig/vmm/*.c)
VMM_OBJS := $(patsubst tools/vmmig/vmm/%.c,$(BUILD)/obj/vmm/%.o,$(VMM_SRCS)) \
	    $(BUILD)/obj/vmm/guest_image.o
BPF_OUT  := $(BUILD)/bpf
BPF_SKEL := $(BPF_OUT)/vmmig_net.skel.h
BPF_CLANG ?= clang
GUEST    := $(BUILD)/obj/guest/workload.bin
GUEST_SRCS := tools/vmmig/guest/entry.S tools/vmmig/guest/workload.c
# The workload guest runs on bare (virtual) metal in 64-bit mode.
GUEST_CFLAGS := -O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -nostdlib -static -no-pie -Wl,--build-id=none -Wl,--no-warn-rwx-segments \
	-Wl,-T,tools/vmmig/guest/guest.lds

.DELETE_ON_ERROR:
.PHONY: all modules tools install uninstall deps check bench vng-check demo \
	clean style sparse docs-check help ksft man completion htmldocs

all: modules tools selftests man completion

help:
	@echo 'make [all]         modules, tools and selftests, into build/'
	@echo 'make modules       vmmig.ko for each kernel with headers (KDIR=: that tree only)'
	@echo 'make tools         the vmmig CLI, vmmigd and vmmig-vmm'
	@echo 'make selftests     the test binaries'
	@echo 'make benchmarks    the benchmark binaries'
	@echo 'make ksft          extract the kselftest harness from linux-source'
	@echo 'make deps          install missing Debian packages (as root)'
	@echo 'make check         unit tests, module builds, the in-VM suite on 6.1 and 6.12'
	@echo 'make vng-check     the in-VM suite through virtme-ng (vng on PATH)'
	@echo 'make demo          build, boot 6.1 and show vmmig at work'
	@echo 'make bench         the benchmarks, in the test VM (ratios from one run)'
	@echo 'make install       install vmmig.ko (DKMS when present), vmmig, vmmigd, the VMM;'
	@echo '                   DESTDIR= stages it all without root, PREFIX= (/usr/local)'
	@echo 'make uninstall     remove what install installed'
	@echo 'make style         checkpatch on the module, shellcheck on the scripts'
	@echo 'make sparse        sparse (C=2) on the module'
	@echo 'make docs-check    docutils over Documentation/ (also part of make check)'
	@echo 'make man           the man pages, Documentation/man/*.rst -> build/man/*.8 (rst2man)'
	@echo 'make completion    bash completion of vmmig and vmmigd -> build/completion/vmmig'
	@echo 'make htmldocs      Documentation/ as HTML -> build/htmldocs (Sphinx, warnings fail)'
	@echo 'make clean         remove build/'
	@echo 'make help          this list'

# The module is built in one output folder per kernel, made of links to the
# sources, so that the builds for several kernels do not trample each other.
modules: $(MODULES)
	$(if $(KVERS),,$(error no kernel headers found: run 'make deps' or pass KDIR=))

$(BUILD)/kmod/%/vmmig.ko: $(KSRCS)
	@echo '  KMOD    $*'
	$(Q)mkdir -p $(@D)
	$(Q)ln -sf $(addprefix $(CURDIR)/,$(filter kmod/%,$(KSRCS))) $(@D)/
	$(Q)$(MAKE) -C $(call kdir,$*) M=$(@D) VMMIG_ROOT=$(CURDIR) modules \
		$(if $(filter 0,$(V)),>$(@D)/build.log 2>&1 || { cat $(@D)/build.log; exit 1; })
	@# Kbuild leaves an unchanged module alone: newer than its sources now.
	$(Q)touch $@

tools: $(BUILD)/bin/vmmig $(BUILD)/bin/vmmig-vmm $(if $(DAEMON_SRCS),$(BUILD)/bin/vmmigd)

$(BUILD)/obj/lib/%.o: tools/vmmig/lib/%.c $(HDRS)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WFLAGS) -c -o $@ $<

$(BUILD)/obj/migrate/%.o: tools/vmmig/migrate/%.c $(HDRS)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WFLAGS) -c -o $@ $<

# Named here, so that make keeps the skeleton (not an intermediate file).
$(DAEMON_OBJS): $(BPF_SKEL)
$(BUILD)/obj/daemon/%.o: tools/vmmig/daemon/%.c $(HDRS)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) -I$(BPF_OUT) -I$(CURDIR)/bpf $(PKG_CFLAGS) $(CFLAGS) $(WFLAGS) -c -o $@ $<

# bpf/: the programs vmmigd loads, CO-RE against vmlinux.h from a kernel's
# BTF (scripts/gen-vmlinux-h.sh), as a bpftool skeleton.
$(BPF_OUT)/vmlinux.h: scripts/gen-vmlinux-h.sh scripts/extract-vmlinux.sh
	@mkdir -p $(@D)
	@echo '  GEN     $@'
	$(Q)scripts/gen-vmlinux-h.sh $@

$(BPF_OUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(BPF_OUT)/vmlinux.h
	@echo '  BPF     $<'
	$(Q)$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(BPF_OUT) -I$(CURDIR)/bpf \
		-Wall -Werror -c -o $(@:.o=.tmp.o) $<
	$(Q)bpftool gen object $@ $(@:.o=.tmp.o)
	$(Q)rm -f $(@:.o=.tmp.o)

.SECONDARY: $(BPF_SKEL:.skel.h=.bpf.o)
$(BPF_OUT)/%.skel.h: $(BPF_OUT)/%.bpf.o
	@echo '  SKEL    $@'
	$(Q)bpftool gen skeleton $< name $* >$@

$(BUILD)/obj/cli/%.o: tools/vmmig/cli/%.c $(HDRS)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WFLAGS) -c -o $@ $<

$(BUILD)/obj/vmm/%.o: tools/vmmig/vmm/%.c $(HDRS)
	@mkdir -p $(@D)
	@echo '  CC      $<'
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) $(WFLAGS) -c -o $@ $<

$(GUEST): $(GUEST_SRCS) tools/vmmig/guest/guest.h tools/vmmig/guest/guest.lds
	@mkdir -p $(@D)
	@echo '  GUEST   $@'
	$(Q)$(CC) $(GUEST_CFLAGS) $(WFLAGS) -o $(@:.bin=.elf) $(GUEST_SRCS)
	$(Q)objcopy -O binary $(@:.bin=.elf) $@

$(BUILD)/obj/vmm/guest_image.o: tools/vmmig/vmm/guest_image.S $(GUEST)
	@mkdir -p $(@D)
	$(Q)$(CC) -DGUEST_BIN='"$(GUEST)"' -c -o $@ $<

$(BUILD)/bin/vmmig-vmm: $(VMM_OBJS) $(LIBVMMIG)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

$(LIBVMMIG): $(LIB_OBJS)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/bin/vmmig: $(CLI_OBJS) $(LIBVMMIG)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

$(BUILD)/bin/vmmigd: $(DAEMON_OBJS) $(LIBVMMIG)
	@mkdir -p $(@D)
	@echo '  LD      $@'
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -pthread -o $@ $^ $(PKG_LIBS)

include selftests/Makefile.inc

# Into the system for KVER (uname -r), or staged into DESTDIR for every
# kernel built (KVER= to choose); MODULE=0 leaves the module out.
INSTALL_KVERS = $(if $(and $(DESTDIR),$(filter-out command line,$(origin KVER))),$(KVERS),$(KVER))
install: tools man completion $(if $(filter 0,$(MODULE)),,modules)
	$(Q)scripts/install.sh install "$(VERSION)" "$(INSTALL_KVERS)" "$(CURDIR)"

uninstall:
	$(Q)scripts/install.sh uninstall "$(VERSION)" "$(INSTALL_KVERS)" "$(CURDIR)"

deps:
	$(Q)scripts/deps.sh

CHECKPATCH := $(BUILD)/checkpatch/checkpatch.pl
$(CHECKPATCH):
	$(if $(LINUX_SOURCE_TAR),,$(error checkpatch comes from Debian's linux-source package: run 'make deps'))
	$(Q)mkdir -p $(@D)
	$(Q)top=$$(basename $(LINUX_SOURCE_TAR) .tar.xz); \
	tar -xJf $(LINUX_SOURCE_TAR) -C $(@D) --strip-components=2 \
		$$top/scripts/checkpatch.pl $$top/scripts/spelling.txt \
		$$top/scripts/const_structs.checkpatch

style: $(CHECKPATCH)
	$(Q)$(CHECKPATCH) --no-tree --strict \
		--ignore FILE_PATH_CHANGES,LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f $(KMOD_SRCS) uapi/linux/vmmig.h include/vmmig/*.h
	@# Out of tree, version checks are needed; they live in compat.h only.
	$(Q)! grep -n LINUX_VERSION_CODE $(filter-out kmod/compat.h,$(KMOD_SRCS))
	$(Q)shellcheck -x -S warning selftests/*.sh selftests/run_tests selftests/check \
		selftests/vm-run $(filter-out %.c %.h %.S %.py,$(wildcard selftests/lib/*)) scripts/*.sh .ci/run \
		bench/run bench/*.sh bench/dirtier-initrd

sparse:
	$(Q)$(MAKE) -C $(call kdir,$(firstword $(KVERS))) M=$(BUILD)/kmod/$(firstword $(KVERS)) \
		VMMIG_ROOT=$(CURDIR) C=2 modules

clean:
	rm -rf $(BUILD)
	$(if $(KVERS),$(Q)$(MAKE) -C $(call kdir,$(firstword $(KVERS))) M=$(CURDIR) clean >/dev/null)

docs-check:
	$(Q)scripts/docs-check.py

# Man pages: Documentation/man/NAME.8.rst -> build/man/NAME.8.
MAN_PAGES := $(patsubst Documentation/man/%.rst,$(BUILD)/man/%,\
	$(filter-out %/index.rst,$(wildcard Documentation/man/*.rst)))
man: $(MAN_PAGES)

$(BUILD)/man/%: Documentation/man/%.rst
	$(if $(shell command -v rst2man),,$(error rst2man (python3-docutils) is not installed: run 'make deps'))
	@mkdir -p $(@D)
	@echo '  MAN     $@'
	$(Q)rst2man --halt=warning $< $@

# Bash completion, from the CLI's own command table (vmmig help --commands).
completion: $(BUILD)/completion/vmmig

$(BUILD)/completion/vmmig: scripts/gen-completion.sh $(BUILD)/bin/vmmig $(BUILD)/bin/vmmigd
	@mkdir -p $(@D)
	@echo '  GEN     $@'
	$(Q)scripts/gen-completion.sh $(BUILD)/bin/vmmig $(BUILD)/bin/vmmigd >$@

# Warnings are errors, all of them reported (--keep-going).
htmldocs:
	$(if $(shell command -v sphinx-build),,$(error sphinx-build (python3-sphinx) is not installed: run 'make deps'))
	$(Q)sphinx-build -q -W --keep-going -b html -d $(BUILD)/htmldocs/.doctrees \
		Documentation $(BUILD)/htmldocs

check: deps
	$(Q)$(MAKE) -j$(NPROC) all
	$(Q)selftests/check

vng-check: deps
	$(Q)command -v vng >/dev/null || { echo 'vng (virtme-ng) is not on PATH: see Documentation/admin-guide/testing.rst' >&2; exit 1; }
	$(Q)$(MAKE) -j$(NPROC) all
	$(Q)selftests/check --runner vng

bench: deps
	$(Q)$(MAKE) -j$(NPROC) all benchmarks
	@# One test VM for all (ratios from one run): one vCPU for the nested
	@# Linux guests, 3 GiB for a 1 GiB guest at both ends.
	$(Q)selftests/vm-run -k 6.1 -c 1 -m 3G -t 4800 -- bench/run

demo: deps
	$(Q)$(MAKE) -j$(NPROC) all
	$(Q)selftests/vm-run -k 6.1 -- scripts/demo-guest.sh
