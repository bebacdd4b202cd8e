// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * empty.bpf.c - the baselines of `make bench`: programs that do nothing but
 * return pass, so that BPF_PROG_RUN's own cost per run (the loop, the
 * dispatcher, the context) is measured on the same packet, in the same run,
 * as the datapath it is compared with.  Lives in bench/ so that the
 * Makefile's wildcard over bpf/ and shaper/ does not make it a product.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int empty_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int empty_tc(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
