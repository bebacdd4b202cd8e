// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowbench.bpf.c - bench-only twins of the datapath that see many flows
 * from one BPF_PROG_RUN call.
 *
 * BPF_PROG_RUN with repeat=N runs a program N times on one packet buffer,
 * and what the program writes into that buffer stays there for the next
 * run.  So each run here first rewrites the IPv4 source address from a
 * sequence of flow ids (a .bss cursor into the bench_seq array), then runs
 * the unmodified accounting code of bpf/flowqoe.bpf.c, which is included
 * whole.  The *_rw programs do the same rewrite and nothing else: their
 * cost is the rewrite's cost plus the empty program's, and the bench
 * subtracts it.
 *
 * The sequence is bench_seq[0 .. bench_len-1], each id repeated bench_train
 * times before moving on (1: a new flow every packet, 16: trains of 16).
 */
#include "flowqoe.bpf.c"

/* Enough for 1M distinct flows in one sequence. */
#define BENCH_SEQ_MAX (1 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BENCH_SEQ_MAX);
	__type(key, __u32);
	__type(value, __u32);
} bench_seq SEC(".maps");

/* Set by userspace through the mmap'ed .bss before each BPF_PROG_RUN. */
__u32 bench_len;   /* ids used from bench_seq; 0 behaves as 1 */
__u32 bench_train; /* packets per id before the next one; 0 behaves as 1 */
__u32 bench_pos;   /* cursor: index into bench_seq */
__u32 bench_n;     /* cursor: packets sent of the current train */
__u32 bench_miss;  /* rewrites that could not happen (must stay 0) */

/* Source address := 10.x.y.z with x.y.z the flow id (24 bits). */
static __always_inline void bench_rotate(void *data, void *data_end)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u32 pos = bench_pos;
	__u32 *id;

	if (++bench_n >= bench_train) {
		bench_n = 0;
		bench_pos = pos + 1 >= bench_len ? 0 : pos + 1;
	}
	id = bpf_map_lookup_elem(&bench_seq, &pos);
	if (!id || (void *)(ip + 1) > data_end) {
		bench_miss++;
		return;
	}
	ip->saddr = bpf_htonl(0x0a000000 | (*id & 0xffffff));
}

SEC("xdp")
int bench_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	bench_rotate(data, data_end);
	fq_account(data, data_end, data_end - data, FQ_HOOK_INGRESS, 1, 0);
	return XDP_PASS;
}

SEC("xdp")
int bench_rw_xdp(struct xdp_md *ctx)
{
	bench_rotate((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int bench_tc(struct __sk_buff *skb)
{
	bench_rotate((void *)(long)skb->data, (void *)(long)skb->data_end);
	return fq_tc(skb, FQ_HOOK_EGRESS);
}

SEC("tc")
int bench_rw_tc(struct __sk_buff *skb)
{
	bench_rotate((void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_OK;
}
