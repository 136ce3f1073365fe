# SPDX-License-Identifier: GPL-2.0-only
# same-cgroup-mark: build, install and test.
#
#   make                  build the BPF object and the .rodata helper
#   make install          install (DESTDIR, prefix, sbindir, libdir, ... honoured)
#   make uninstall        remove exactly what "make install" put there
#   sudo make load        install missing build tools (Debian), build, load from this tree
#   sudo make check       install missing test tools (Debian), build, run the test suite
#   sudo make check-boot  boot the dracut module in QEMU on Debian's 6.1 and 6.12 kernels
#   sudo make check-package  build the Debian package, install, upgrade, remove, purge it
#   sudo make check-system   the package on Debian 12 (SCM_SYSTEM_SUITE=trixie: 13) booted with systemd in QEMU
#   sudo make check-release  "make check-package" (SCM_RELEASE_CMD) in a Debian 13 (SCM_RELEASE) userland
#   sudo make check-kernels  the test suite on Debian's 6.1 and 6.12 kernels in QEMU
#   make fuzz             fuzz the .rodata helper with libFuzzer (FUZZ_SECONDS, default 60)
#   sudo make soak        reload under a mixed client/server load (SOAK_SECONDS, default 300)
#   sudo make bench       benchmark: cost, throughput, load time, scale, memory (BENCH_ROUNDS)
#   make V=1              show the full commands

VERSION := 0.3.0

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
BATS ?= bats
CFLAGS ?= -O2 -g -Wall -Wextra
# The .rodata helper reads the object with libelf (elfutils).
LIBELF_LIBS ?= -lelf
BPF_CFLAGS ?= -O2 -g -Wall

prefix ?= /usr/local
exec_prefix ?= $(prefix)
sbindir ?= $(exec_prefix)/sbin
libdir ?= $(exec_prefix)/lib
# The configuration file is part of the interface: /etc/same-cgroup-mark.conf.
sysconfdir ?= /etc
pkglibdir ?= $(libdir)/same-cgroup-mark
# dracut looks for modules in /usr/lib/dracut/modules.d: packagers use prefix=/usr.
dracutmoduledir ?= $(prefix)/lib/dracut/modules.d
# initramfs-tools: /usr/share/initramfs-tools (hooks/, scripts/init-top/).
initramfstoolsdir ?= $(datarootdir)/initramfs-tools
datarootdir ?= $(prefix)/share
mandir ?= $(datarootdir)/man
docdir ?= $(datarootdir)/doc/same-cgroup-mark
# Debian's debhelper (bookworm) wants units in /lib/systemd/system:
# debian/rules passes systemdunitdir.
systemdunitdir ?= $(prefix)/lib/systemd/system

INSTALL ?= install
INSTALL_PROGRAM ?= $(INSTALL)
INSTALL_DATA ?= $(INSTALL) -m 0644

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' '$(1)' '$(2)';
endif

BPF_SRC := bpf/same-cgroup-mark.bpf.c
BPF_OBJ := bpf/same-cgroup-mark.bpf.o
BPF_TMP := bpf/same-cgroup-mark.tmp.o
# The same programs without kernel BTF reads, for kernels that have no BTF.
NOBTF_OBJ := bpf/same-cgroup-mark-nobtf.bpf.o
NOBTF_TMP := bpf/same-cgroup-mark-nobtf.tmp.o
ITER_SRC := bpf/same-cgroup-mark-iter.bpf.c
ITER_OBJ := bpf/same-cgroup-mark-iter.bpf.o
ITER_TMP := bpf/same-cgroup-mark-iter.tmp.o
SOCKOPS_SRC := bpf/same-cgroup-mark-sockops.bpf.c
SOCKOPS_OBJ := bpf/same-cgroup-mark-sockops.bpf.o
SOCKOPS_TMP := bpf/same-cgroup-mark-sockops.tmp.o
HELPER := bpf/scm-set-rodata
PROBE := tests/scm-probe
ATTACK := tests/scm-attack
DRACUT_MOD := dracut/90same-cgroup-mark
FOREIGN_OBJ := tests/foreign.bpf.o
REFUSED_OBJ := tests/refused-sockops.bpf.o
NFT_EXAMPLES := nft-examples/local-isolation.nft nft-examples/audit.nft nft-examples/protect-ports.nft
UNIT := systemd/same-cgroup-mark.service
# The parts of the loader it sources, installed in pkglibdir.
LOADER_PARTS := $(addprefix sbin/lib/,config.sh changes.sh instances.sh listeners.sh status.sh)

# The man pages name the installed paths and version in three .ds lines;
# roff spells "-" as "\-" (a hyphen-minus, which sed wants as "\\-").
roff_esc = $(subst -,\\-,$(1))
MAN_SED = -e 's|^\.ds scm_version .*|.ds scm_version $(VERSION)|' \
	-e 's|^\.ds scm_pkglibdir .*|.ds scm_pkglibdir $(call roff_esc,$(pkglibdir))|' \
	-e 's|^\.ds scm_config .*|.ds scm_config $(call roff_esc,$(sysconfdir)/same-cgroup-mark.conf)|'

# clang -target bpf does not search the multiarch directory that holds
# <asm/socket.h>: hand it the host compiler's system include directories.
CLANG_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')

# Flags the build needs, kept apart from the user's BPF_CFLAGS.
# -fdebug-prefix-map keeps the build directory out of BTF line info, so two
# builds of the same source give the same bytes.
BPF_REQ_CFLAGS = -target bpf -fdebug-prefix-map=$(CURDIR)=. $(CLANG_SYS_INCLUDES)

.DELETE_ON_ERROR:
.PHONY: all install uninstall clean check load deps test-deps

all: $(BPF_OBJ) $(NOBTF_OBJ) $(ITER_OBJ) $(SOCKOPS_OBJ) $(HELPER)

$(BPF_TMP): $(BPF_SRC) bpf/same-cgroup-mark.h bpf/scm-kernel.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

$(NOBTF_TMP): $(BPF_SRC) bpf/same-cgroup-mark.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -DSCM_NO_KERNEL_BTF -c $< -o $@

$(NOBTF_OBJ): $(NOBTF_TMP)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(ITER_TMP): $(ITER_SRC) bpf/same-cgroup-mark.h bpf/scm-kernel.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

$(ITER_OBJ): $(ITER_TMP)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(SOCKOPS_TMP): $(SOCKOPS_SRC) bpf/same-cgroup-mark.h bpf/scm-kernel.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

$(SOCKOPS_OBJ): $(SOCKOPS_TMP)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(FOREIGN_OBJ): tests/foreign.bpf.c
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

$(REFUSED_OBJ): tests/refused-sockops.bpf.c bpf/same-cgroup-mark.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

# bpftool gen object is libbpf's static linker: it keeps .rodata symbols and
# BTF, and gives the object the form that bpftool prog loadall expects.
$(BPF_OBJ): $(BPF_TMP)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(HELPER): bpf/scm-set-rodata.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBELF_LIBS) $(LDLIBS)

$(PROBE): tests/scm-probe.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(ATTACK): tests/scm-attack.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

install: all
	$(call msg,INSTALL,$(DESTDIR))
	$(Q)$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(pkglibdir)
	$(Q)sed -e 's|^default_pkglibdir=.*|default_pkglibdir=$(pkglibdir)|' \
		-e 's|^default_config=.*|default_config=$(sysconfdir)/same-cgroup-mark.conf|' \
		-e 's|^version=.*|version=$(VERSION)|' \
		-e 's|^shlibdir=.*|shlibdir=$$pkglibdir|' \
		sbin/same-cgroup-mark-load >$(DESTDIR)$(sbindir)/same-cgroup-mark-load.tmp
	$(Q)chmod 0755 $(DESTDIR)$(sbindir)/same-cgroup-mark-load.tmp
	$(Q)mv -f $(DESTDIR)$(sbindir)/same-cgroup-mark-load.tmp $(DESTDIR)$(sbindir)/same-cgroup-mark-load
	$(Q)$(INSTALL_DATA) $(LOADER_PARTS) $(DESTDIR)$(pkglibdir)/
	$(Q)$(INSTALL_DATA) $(BPF_OBJ) $(DESTDIR)$(pkglibdir)/same-cgroup-mark.bpf.o
	$(Q)$(INSTALL_DATA) $(NOBTF_OBJ) $(DESTDIR)$(pkglibdir)/same-cgroup-mark-nobtf.bpf.o
	$(Q)$(INSTALL_DATA) $(ITER_OBJ) $(DESTDIR)$(pkglibdir)/same-cgroup-mark-iter.bpf.o
	$(Q)$(INSTALL_DATA) $(SOCKOPS_OBJ) $(DESTDIR)$(pkglibdir)/same-cgroup-mark-sockops.bpf.o
	$(Q)$(INSTALL_PROGRAM) $(HELPER) $(DESTDIR)$(pkglibdir)/scm-set-rodata
	$(Q)$(INSTALL) -d $(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark
	$(Q)sed -e 's|^scm_loader=.*|scm_loader=$(sbindir)/same-cgroup-mark-load|' \
		$(DRACUT_MOD)/module-setup.sh >$(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark/module-setup.sh
	$(Q)chmod 0755 $(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark/module-setup.sh
	$(Q)$(INSTALL) -m 0755 $(DRACUT_MOD)/load-same-cgroup-mark.sh \
		$(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark/load-same-cgroup-mark.sh
	$(Q)$(INSTALL) -d $(DESTDIR)$(initramfstoolsdir)/hooks $(DESTDIR)$(initramfstoolsdir)/scripts/init-top
	$(Q)sed -e 's|^scm_loader=.*|scm_loader=$(sbindir)/same-cgroup-mark-load|' \
		initramfs-tools/hook >$(DESTDIR)$(initramfstoolsdir)/hooks/same-cgroup-mark
	$(Q)chmod 0755 $(DESTDIR)$(initramfstoolsdir)/hooks/same-cgroup-mark
	$(Q)$(INSTALL) -m 0755 initramfs-tools/init-top \
		$(DESTDIR)$(initramfstoolsdir)/scripts/init-top/same-cgroup-mark
	$(Q)$(INSTALL) -d $(DESTDIR)$(docdir)/nft-examples
	$(Q)$(INSTALL_DATA) $(NFT_EXAMPLES) $(DESTDIR)$(docdir)/nft-examples/
	$(Q)$(INSTALL) -d $(DESTDIR)$(systemdunitdir) $(DESTDIR)$(mandir)/man8 $(DESTDIR)$(mandir)/man5
	$(Q)sed -e 's|/usr/local/sbin/same-cgroup-mark-load|$(sbindir)/same-cgroup-mark-load|g' \
		$(UNIT) >$(DESTDIR)$(systemdunitdir)/same-cgroup-mark.service
	$(Q)chmod 0644 $(DESTDIR)$(systemdunitdir)/same-cgroup-mark.service
	$(Q)sed -e 's|/usr/local/lib/same-cgroup-mark/|$(pkglibdir)/|g' \
		systemd/same-cgroup-mark-metrics.service >$(DESTDIR)$(systemdunitdir)/same-cgroup-mark-metrics.service
	$(Q)$(INSTALL_DATA) systemd/same-cgroup-mark-metrics.timer $(DESTDIR)$(systemdunitdir)/
	$(Q)chmod 0644 $(DESTDIR)$(systemdunitdir)/same-cgroup-mark-metrics.service
	$(Q)sed -e 's|^loader=.*|loader=$(sbindir)/same-cgroup-mark-load|' \
		systemd/same-cgroup-mark-metrics >$(DESTDIR)$(pkglibdir)/same-cgroup-mark-metrics
	$(Q)chmod 0755 $(DESTDIR)$(pkglibdir)/same-cgroup-mark-metrics
	$(Q)sed $(MAN_SED) man/same-cgroup-mark-load.8 >$(DESTDIR)$(mandir)/man8/same-cgroup-mark-load.8
	$(Q)sed $(MAN_SED) man/same-cgroup-mark.conf.5 >$(DESTDIR)$(mandir)/man5/same-cgroup-mark.conf.5
	$(Q)chmod 0644 $(DESTDIR)$(mandir)/man8/same-cgroup-mark-load.8 $(DESTDIR)$(mandir)/man5/same-cgroup-mark.conf.5

uninstall:
	$(call msg,UNINST,$(DESTDIR))
	$(Q)rm -f $(DESTDIR)$(sbindir)/same-cgroup-mark-load \
		$(DESTDIR)$(pkglibdir)/same-cgroup-mark.bpf.o \
		$(DESTDIR)$(pkglibdir)/same-cgroup-mark-nobtf.bpf.o \
		$(DESTDIR)$(pkglibdir)/same-cgroup-mark-iter.bpf.o \
		$(DESTDIR)$(pkglibdir)/same-cgroup-mark-sockops.bpf.o \
		$(DESTDIR)$(pkglibdir)/scm-set-rodata \
		$(DESTDIR)$(initramfstoolsdir)/hooks/same-cgroup-mark \
		$(DESTDIR)$(initramfstoolsdir)/scripts/init-top/same-cgroup-mark \
		$(addprefix $(DESTDIR)$(pkglibdir)/,$(notdir $(LOADER_PARTS))) \
		$(DESTDIR)$(systemdunitdir)/same-cgroup-mark.service \
		$(DESTDIR)$(systemdunitdir)/same-cgroup-mark-metrics.service \
		$(DESTDIR)$(systemdunitdir)/same-cgroup-mark-metrics.timer \
		$(DESTDIR)$(pkglibdir)/same-cgroup-mark-metrics \
		$(DESTDIR)$(mandir)/man8/same-cgroup-mark-load.8 \
		$(DESTDIR)$(mandir)/man5/same-cgroup-mark.conf.5
	$(Q)rm -f $(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark/module-setup.sh \
		$(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark/load-same-cgroup-mark.sh
	$(Q)-rmdir $(DESTDIR)$(dracutmoduledir)/90same-cgroup-mark 2>/dev/null || :
	$(Q)-rmdir $(DESTDIR)$(pkglibdir) 2>/dev/null || :
	$(Q)rm -f $(addprefix $(DESTDIR)$(docdir)/,$(NFT_EXAMPLES))
	$(Q)-rmdir $(DESTDIR)$(docdir)/nft-examples $(DESTDIR)$(docdir) 2>/dev/null || :

# Debian: install what building (deps) or testing (test-deps) needs, if missing.
deps:
	$(Q)sh .ci/install-deps build

test-deps:
	$(Q)sh .ci/install-deps test

# Load from this source tree (as root).  An installed copy is loaded with
# "same-cgroup-mark-load"; both use the same pin directory.
load: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)SAME_CGROUP_MARK_LIBDIR=$(CURDIR)/bpf BPFTOOL=$(BPFTOOL) sh sbin/same-cgroup-mark-load

# The whole test suite, as root, against the running kernel.  check-build
# is what it builds first (check-kernels builds the same in each guest).
.PHONY: check-build
check-build: all $(PROBE) $(ATTACK) $(FOREIGN_OBJ) $(REFUSED_OBJ)

check: test-deps
	$(Q)$(MAKE) --no-print-directory check-build
	$(Q)$(BATS) tests

# Boot an initramfs with the dracut module in QEMU on Debian's kernels (as
# root; installs dracut-core and qemu-system-x86 if missing; slow without KVM).
.PHONY: check-boot
check-boot: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)MAKE='$(MAKE)' sh tests/boot/run

# The package on a Debian system booted with systemd in QEMU, on Debian's
# kernels: Debian 12, or the release SCM_SYSTEM_SUITE names (as root;
# installs mmdebstrap, cpio, qemu-system-x86 and the package build tools if
# missing; slow without KVM).
.PHONY: check-system
check-system:
	$(Q)sh tests/system/run

# A command run in this tree inside a fresh userland of another Debian
# release, on this kernel, as a user of that release would run it
# (tests/release/run; as root; installs mmdebstrap if missing).
SCM_RELEASE ?= trixie
SCM_RELEASE_CMD ?= make check-package
.PHONY: check-release
check-release:
	$(Q)sh tests/release/run '$(SCM_RELEASE)' '$(SCM_RELEASE_CMD)'

# The bats suite on Debian's kernels (6.1, 6.12), each booted in QEMU, and
# on this host, with one summary line per kernel (as root; installs
# mmdebstrap, cpio and qemu-system-x86, and for the run here the test
# tools, if missing; slow without KVM: see docs/tests.md).
# SCM_KERNELS_KERNELS, SCM_KERNELS_HOST, SCM_KERNELS_FILES and
# SCM_KERNELS_INIT choose what runs (tests/kernels/run).
.PHONY: check-kernels
check-kernels: deps
	$(Q)MAKE='$(MAKE)' sh tests/kernels/run

# Build the Debian package in a scratch copy of this tree, then install,
# upgrade, remove and purge it on this host (as root; installs debhelper if
# missing; leaves the host as it found it).
.PHONY: check-package package-deps
check-package: package-deps
	$(Q)sh tests/package/run

package-deps:
	$(Q)sh .ci/install-deps package

# Fuzz scm-set-rodata with libFuzzer, ASan and UBSan, seeded with the real
# objects (tests/fuzz/run; "make check" runs it for 20 seconds).
FUZZ_SECONDS ?= 60
.PHONY: fuzz soak
fuzz: test-deps
	$(Q)$(MAKE) --no-print-directory all $(FOREIGN_OBJ)
	$(Q)CLANG=$(CLANG) sh tests/fuzz/run $(FUZZ_SECONDS)

# Clients and listeners in several cgroups, IPv4 and IPv6, while the loader
# reloads again and again: no wrong or missing mark, socket storage records
# back to where they started (as root; tests/soak/run).
SOAK_SECONDS ?= 300
soak: test-deps
	$(Q)$(MAKE) --no-print-directory all $(PROBE)
	$(Q)CLANG=$(CLANG) BPFTOOL=$(BPFTOOL) sh tests/soak/run $(SOAK_SECONDS)

# Benchmark (issue 5; as root, not part of "make check"): per-invocation
# cost against empty programs (and, in place of our connect programs, the
# floor of the marked case and our object without its counters), connect
# throughput, load/reload wall time, scale with many listeners, kernel
# memory.  The table goes to stdout, the per-round numbers to BENCH_RAW
# (tests/bench/run).
BENCH_ROUNDS ?= 7
BENCH_N ?= 20000
BENCH_RAW ?= $(CURDIR)/bench-raw.txt
BENCH := tests/bench/scm-bench
# The floor of case (a): bpf_sk_lookup_tcp + bpf_setsockopt only.
BENCH_FLOOR := tests/bench/floor.bpf.o
# Our object with the per-CPU counters compiled out, linked as $(BPF_OBJ) is.
BENCH_NOCOUNT_TMP := tests/bench/same-cgroup-mark-nocounters.tmp.o
BENCH_NOCOUNT := tests/bench/same-cgroup-mark-nocounters.bpf.o
.PHONY: bench
bench: all $(FOREIGN_OBJ) $(BENCH) $(BENCH_FLOOR) $(BENCH_NOCOUNT)
	$(Q)BENCH_ROUNDS='$(BENCH_ROUNDS)' BENCH_N='$(BENCH_N)' BENCH_RAW='$(BENCH_RAW)' \
		BPFTOOL='$(BPFTOOL)' CLANG='$(CLANG)' bash tests/bench/run

$(BENCH): tests/bench/scm-bench.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(BENCH_FLOOR): tests/bench/floor.bpf.c
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

$(BENCH_NOCOUNT_TMP): $(BPF_SRC) bpf/same-cgroup-mark.h
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -DSCM_BENCH_NO_COUNTERS -c $< -o $@

$(BENCH_NOCOUNT): $(BENCH_NOCOUNT_TMP)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

clean:
	$(call msg,CLEAN,)
	$(Q)rm -f $(BPF_OBJ) $(BPF_TMP) $(NOBTF_OBJ) $(NOBTF_TMP) $(ITER_OBJ) $(ITER_TMP) $(SOCKOPS_OBJ) $(SOCKOPS_TMP) $(HELPER) $(PROBE) $(ATTACK) $(FOREIGN_OBJ) $(REFUSED_OBJ) $(BENCH) \
		$(BENCH_FLOOR) $(BENCH_NOCOUNT_TMP) $(BENCH_NOCOUNT)
