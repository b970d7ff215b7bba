// SPDX-License-Identifier: GPL-2.0

//! Netfilter LOCAL_IN hooks for IPv4 and IPv6 (records from the type-31 option) and the
//! getpeername/getsockname override. Not implemented yet: the module registers nothing.
