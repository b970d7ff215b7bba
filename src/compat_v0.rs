// SPDX-License-Identifier: GPL-2.0

//! getsockopt UOA_SO_GET_LOOKUP (the v0 ABI in its 18, 56 and 58 byte forms). Not
//! implemented yet.
