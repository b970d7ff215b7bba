# SPDX-License-Identifier: GPL-2.0
# Build toa_uoa.ko out of tree against a Rust-enabled kernel build tree:
#   make                     against the project's cached test kernel (scripts/setup.sh)
#   make KDIR=/path/to/tree  against any other Rust-enabled tree: a 6.12 one, or a Debian
#                            kernel's tree made by scripts/prepare-kernel-tree.sh
#   make CLIPPY=1            the same, with clippy as the Rust compiler driver
#   make clean
# The Rust toolchain must be the one the kernel tree was configured with; the defaults
# below are those of scripts/setup.sh and can be overridden on the command line.

PWD_ := $(shell pwd)
KDIR ?= $(shell $(PWD_)/scripts/setup.sh --print-kdir)
BINDGEN ?= $(firstword $(wildcard $(HOME)/.cargo/bin/bindgen) bindgen)
# The C compiler the kernel was built with, so that the kernel's own compiler checks agree:
# clang for a clang-built kernel like the test kernel (LLVM=1), or the GCC its .config names
# for a GCC-built distribution kernel (Debian 13's: gcc-14).
KCONFIG := $(KDIR)/.config
LLVM_ARG := $(if $(shell grep -s '^CONFIG_CC_IS_CLANG=y' $(KCONFIG)),LLVM=1)
KERNEL_GCC := $(if $(shell grep -s '^CONFIG_CC_IS_GCC=y' $(KCONFIG)),$(firstword \
	$(shell sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' $(KCONFIG))))
CC_ARG := $(if $(KERNEL_GCC),CC=$(KERNEL_GCC))
# The kernel's Rust metadata can be read only by the rustc that wrote it.
RUSTC ?= /usr/bin/rustc
RUSTC_WANT := $(shell sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$$/\1/p' $(KCONFIG))
RUSTC_HAVE := $(shell $(RUSTC) --version 2>/dev/null)
KMAKE := $(MAKE) -C $(KDIR) M=$(PWD_) $(LLVM_ARG) $(CC_ARG) RUSTC=$(RUSTC) HOSTRUSTC=$(RUSTC) \
	RUSTDOC=/usr/bin/rustdoc CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN=$(BINDGEN) \
	RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library

all modules:
	@test -f $(KDIR)/Module.symvers || { echo "toa_uoa: no built kernel in KDIR=$(KDIR) (run scripts/setup.sh)" >&2; exit 1; }
	@test -f $(KDIR)/rust/libkernel.rmeta || { echo "toa_uoa: KDIR=$(KDIR) has no Rust metadata (rust/libkernel.rmeta): a distribution's headers are not enough, prepare a tree with scripts/prepare-kernel-tree.sh (README)" >&2; exit 1; }
	@test "$(RUSTC_HAVE)" = "$(RUSTC_WANT)" || { echo "toa_uoa: the kernel in KDIR=$(KDIR) was built with '$(RUSTC_WANT)' but $(RUSTC) is '$(RUSTC_HAVE)': use that rustc (RUSTC=...)" >&2; exit 1; }
	$(KMAKE) modules

clean:
	$(KMAKE) clean
	rm -f bindings_generated.rs

.PHONY: all modules clean
