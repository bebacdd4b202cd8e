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
#include "flowqoe.h"

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

/*
 * Two fixed costs every accounted packet pays, measured alone so that the
 * bench can show how much of the datapath's budget they take: one clock
 * read, and one lookup of an existing key in a hash map shaped like
 * fq_flows (same key and value types, one entry).
 */
__u64 bench_sink; /* keeps the clock read */
__u64 bench_hits; /* lookups that found the key (all must) */

SEC("xdp")
int clock_xdp(struct xdp_md *ctx)
{
	bench_sink += bpf_ktime_get_ns();
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fq_flow_key);
	__type(value, struct fq_flow);
} bench_flows SEC(".maps");

SEC("xdp")
int lookup_xdp(struct xdp_md *ctx)
{
	struct fq_flow_key k = { .proto = 6, .family = 4 };

	if (bpf_map_lookup_elem(&bench_flows, &k))
		bench_hits++;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* What replay runs for frames past one page (bench/replayfloor.c). */
SEC("xdp.frags")
int empty_xdp_frags(struct xdp_md *ctx)
{
	return XDP_PASS;
}
