# SPDX-License-Identifier: GPL-2.0-only
# same-cgroup-mark: build, install and test.
#
#   make                  build the BPF object and the .rodata helper
#   make install          install (DESTDIR, prefix, sbindir, libdir, ... honoured)
#   make uninstall        remove exactly what "make install" put there
#   sudo make load        install missing build tools (Debian), build, load from this tree
#   sudo make check       install missing test tools (Debian), build, run the test suite
#   make V=1              show the full commands

VERSION := 0.1.0

CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
BATS ?= bats
CFLAGS ?= -O2 -g -Wall -Wextra
BPF_CFLAGS ?= -O2 -g -Wall

prefix ?= /usr/local
exec_prefix ?= $(prefix)
sbindir ?= $(exec_prefix)/sbin
libdir ?= $(exec_prefix)/lib
# The configuration file is part of the interface: /etc/same-cgroup-mark.conf.
sysconfdir ?= /etc
pkglibdir ?= $(libdir)/same-cgroup-mark

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
HELPER := bpf/scm-set-rodata
PROBE := tests/scm-probe
FOREIGN_OBJ := tests/foreign.bpf.o

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

all: $(BPF_OBJ) $(HELPER)

$(BPF_TMP): $(BPF_SRC)
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

$(FOREIGN_OBJ): tests/foreign.bpf.c
	$(call msg,CLANG,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(BPF_REQ_CFLAGS) -c $< -o $@

# bpftool gen object is libbpf's static linker: it keeps .rodata symbols and
# BTF, and gives the object the form that bpftool prog loadall expects.
$(BPF_OBJ): $(BPF_TMP)
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(HELPER): bpf/scm-set-rodata.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

$(PROBE): tests/scm-probe.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

install: all
	$(call msg,INSTALL,$(DESTDIR))
	$(Q)$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(pkglibdir)
	$(Q)sed -e 's|^default_pkglibdir=.*|default_pkglibdir=$(pkglibdir)|' \
		-e 's|^default_config=.*|default_config=$(sysconfdir)/same-cgroup-mark.conf|' \
		-e 's|^version=.*|version=$(VERSION)|' \
		sbin/same-cgroup-mark-load >$(DESTDIR)$(sbindir)/same-cgroup-mark-load.tmp
	$(Q)chmod 0755 $(DESTDIR)$(sbindir)/same-cgroup-mark-load.tmp
	$(Q)mv -f $(DESTDIR)$(sbindir)/same-cgroup-mark-load.tmp $(DESTDIR)$(sbindir)/same-cgroup-mark-load
	$(Q)$(INSTALL_DATA) $(BPF_OBJ) $(DESTDIR)$(pkglibdir)/same-cgroup-mark.bpf.o
	$(Q)$(INSTALL_PROGRAM) $(HELPER) $(DESTDIR)$(pkglibdir)/scm-set-rodata

uninstall:
	$(call msg,UNINST,$(DESTDIR))
	$(Q)rm -f $(DESTDIR)$(sbindir)/same-cgroup-mark-load \
		$(DESTDIR)$(pkglibdir)/same-cgroup-mark.bpf.o \
		$(DESTDIR)$(pkglibdir)/scm-set-rodata
	$(Q)-rmdir $(DESTDIR)$(pkglibdir) 2>/dev/null || :

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

# The whole test suite, as root, against the running kernel.
check: test-deps
	$(Q)$(MAKE) --no-print-directory all $(PROBE) $(FOREIGN_OBJ)
	$(Q)$(BATS) tests

clean:
	$(call msg,CLEAN,)
	$(Q)rm -f $(BPF_OBJ) $(BPF_TMP) $(HELPER) $(PROBE) $(FOREIGN_OBJ)
