// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * winrb.bpf.c - bench-only producer of window records (bench/windows.c):
 * each run writes one struct fq_win_rec into a ring buffer shaped like the
 * datapath's fq_winrb (4 MiB, records reserved and submitted with the same
 * adaptive wakeup as bpf_ringbuf_output), for the next of bench_nconv
 * conversations.  It does nothing else, so that a BPF_PROG_RUN loop of it
 * produces records faster than the userspace pipeline can take them and the
 * pipeline, not the producer, sets the rate measured.  The record is what
 * the datapath emits for a one-packet window: 50 IP bytes forward, IPv4
 * 10.x.y.z -> 192.168.0.1 (v4-mapped, as bpf/parse.h stores it).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "flowqoe.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} bench_winrb SEC(".maps");

__u32 bench_nconv; /* conversations cycled through; 0 behaves as 1 */
__u64 bench_runs;  /* runs so far (one record each unless the ring is full) */
__u64 bench_full;  /* records the full ring buffer refused */

/* tc, not XDP: BPF_PROG_RUN of an XDP program with repeat > 1 swaps the
 * XDP dispatcher in and out (an RCU grace period each way, ~10-30 ms here),
 * which would dwarf the runs themselves. */
SEC("tc")
int bench_winrb_tc(struct __sk_buff *skb)
{
	__u32 n = bench_nconv ? bench_nconv : 1;
	__u64 seq = bench_runs++;
	__u32 conv = (__u32)(seq % n) + 1;
	struct fq_win_rec *r;

	r = bpf_ringbuf_reserve(&bench_winrb, sizeof(*r), 0);
	if (!r) {
		bench_full++;
		return 0; /* TC_ACT_OK */
	}
	__builtin_memset(r, 0, sizeof(*r));
	r->key.addr_lo[10] = 0xff;
	r->key.addr_lo[11] = 0xff;
	r->key.addr_lo[12] = 10;
	r->key.addr_lo[13] = conv >> 16;
	r->key.addr_lo[14] = conv >> 8;
	r->key.addr_lo[15] = conv;
	r->key.addr_hi[10] = 0xff;
	r->key.addr_hi[11] = 0xff;
	r->key.addr_hi[12] = 192;
	r->key.addr_hi[13] = 168;
	r->key.addr_hi[15] = 1;
	r->key.family = 4;
	r->start_ns = seq;
	r->len_ns = 1;
	r->dir[0].packets = 1;
	r->dir[0].bytes = 50;
	r->dir[0].bytes_sq = 2500;
	bpf_ringbuf_submit(r, 0);
	return 0; /* TC_ACT_OK */
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
