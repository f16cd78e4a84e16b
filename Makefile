# tp: one non-recursive Makefile.  lib/*.c becomes libtp.a, each
# cmd/tp-*.c a program, each tests/unit/test-*.c a unit test.
# `make check` and `make demo` first make sure the Debian packages are there
# (scripts/deps), then build in a sub-make so pkg-config sees them.

include config.mk

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else
BUILD ?= build
SANFLAGS =
endif

ifneq ($(CI),)
WERROR = -Werror
endif

# MPI=1 builds the distributed module against OpenMPI (mpicc).
ifeq ($(MPI),1)
CC = mpicc
MPIFLAGS = -DTP_HAVE_MPI=1
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ALL_CFLAGS = $(CFLAGS) $(WARN) $(WERROR) $(SANFLAGS) $(MPIFLAGS) -D_GNU_SOURCE \
             -DTP_VERSION='"$(VERSION)"' -Iinclude $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS = $(PKG_LIBS) -lpthread -lm

LIB_SRC  = $(sort $(wildcard lib/*.c))
CMD_SRC  = $(sort $(wildcard cmd/tp-*.c))
TEST_SRC = $(sort $(wildcard tests/unit/test-*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
PROGS    = $(CMD_SRC:cmd/%.c=$(BUILD)/bin/%)
TESTS    = $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
MANS     = $(sort $(wildcard doc/*.[157]))
LIBTP    = $(BUILD)/libtp.a

# V=1 shows the commands.
ifeq ($(V),1)
Q =
else
Q = @
endif

.PHONY: all check demo deps install clean lint fuzz bench build-tests
.SUFFIXES:
.SECONDARY:

all: $(PROGS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBTP): $(LIB_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/bin/%: $(BUILD)/cmd/%.o $(LIBTP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTP) $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBTP)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBTP) $(LIBS)

build-tests: $(PROGS) $(TESTS)

deps:
	@sh scripts/deps

# T=name runs only the tests whose file name contains it.
check: deps
	@$(MAKE) --no-print-directory build-tests
	@sh tests/run $(BUILD) $(T)

demo: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory -j2 -f share/examples/demo.mk TOP=$(CURDIR) BIN=$(CURDIR)/$(BUILD)/bin

fuzz: deps
	@sh tests/fuzz/run $(FUZZ_SECONDS)

bench: deps
	@$(MAKE) --no-print-directory all
	@sh bench/run $(BUILD)

lint:
	mandoc -Tlint -Wwarning $(MANS)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(SHAREDIR)
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	for m in $(MANS); do s=$${m##*.}; \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s || exit 1; done
	cp -R share/data share/examples $(DESTDIR)$(SHAREDIR)

clean:
	rm -rf build build-san build-fuzz build-mpi build-san-mpi

-include $(LIB_OBJ:.o=.d) $(PROGS:$(BUILD)/bin/%=$(BUILD)/cmd/%.d) \
	$(TESTS:$(BUILD)/tests/%=$(BUILD)/tests/unit/%.d)
