# SPDX-License-Identifier: GPL-2.0
# Build toa_uoa.ko out of tree against a Rust-enabled kernel build tree:
#   make                     against the project's cached test kernel (scripts/setup.sh)
#   make KDIR=/path/to/tree  against any other Rust-enabled 6.12 tree
#   make CLIPPY=1            the same, with clippy as the Rust compiler driver
#   make clean
# The Rust toolchain must be the one the kernel tree was configured with; the defaults
# below are those of scripts/setup.sh and can be overridden on the command line.

PWD_ := $(shell pwd)
KDIR ?= $(shell $(PWD_)/scripts/setup.sh --print-kdir)
BINDGEN ?= $(firstword $(wildcard $(HOME)/.cargo/bin/bindgen) bindgen)
# A clang-built kernel (like the test kernel) wants LLVM=1; a GCC-built distribution kernel
# must not get it.
LLVM_ARG := $(if $(shell grep -s '^CONFIG_CC_IS_CLANG=y' $(KDIR)/.config),LLVM=1)
KMAKE := $(MAKE) -C $(KDIR) M=$(PWD_) $(LLVM_ARG) RUSTC=/usr/bin/rustc HOSTRUSTC=/usr/bin/rustc \
	RUSTDOC=/usr/bin/rustdoc CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN=$(BINDGEN) \
	RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library

all modules:
	@test -f $(KDIR)/Module.symvers || { echo "toa_uoa: no built kernel in KDIR=$(KDIR) (run scripts/setup.sh)" >&2; exit 1; }
	$(KMAKE) modules

clean:
	$(KMAKE) clean
	rm -f src/bindings_generated.rs

.PHONY: all modules clean
