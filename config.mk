# tp build configuration; override on the command line (make PREFIX=/opt/tp).
VERSION = 0.1.0
PREFIX  = /usr/local
BINDIR  = $(PREFIX)/bin
MANDIR  = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/tp

CC      = cc
CFLAGS  = -std=c11 -O2 -g
WARN    = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
          -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
          -Wno-unused-parameter
LDFLAGS =
PKGS    = openblas msgpack libzstd libarchive zlib
