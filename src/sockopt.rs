// SPDX-License-Identifier: GPL-2.0

//! getsockopt UOA_SO_GET_LOOKUP1 (the v1 ABI). Not implemented yet: no sockopt is registered.
