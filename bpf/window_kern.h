/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * window_kern.h - per-conversation windows for the classifiers (BPF only).
 * Included by flowqoe.bpf.c; runs only when cfg_win_ns != 0.
 */
#ifndef FQ_WINDOW_H
#define FQ_WINDOW_H

#include "flowqoe.h"
#include "parse.h"

/* Window length in ns; 0 disables windows (the default: live attach pays
 * nothing unless a classifier or --windows asks for them). */
FQ_RODATA __u64 cfg_win_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fq_conv_key);
	__type(value, struct fq_conv);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fq_conv SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* 4 MiB: ~20k records of slack */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fq_winrb SEC(".maps");

/* Per-CPU template: struct fq_conv is too large for the stack with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fq_win_rec);
} fq_winscratch SEC(".maps");

/* Counters of the window path, per CPU. */
struct fq_win_ctr {
	__u64 records;      /* windows handed to the ring buffer */
	__u64 rb_full;      /* windows lost because the ring buffer was full */
	__u64 conv_full;    /* packets of conversations the table could not take */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fq_win_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fq_winctr SEC(".maps");

__noinline int fq_window_update(const struct fq_pkt *p, __u64 now)
{
	struct fq_conv_key key = {};
	struct fq_win_rec *out;
	struct fq_win_ctr *ctr;
	struct fq_win_dir *d;
	struct fq_conv *c;
	__u64 start, len = cfg_win_ns;
	__u32 zero = 0;
	int dir, emit = 0;

	if (!p || !len)
		return 0;
	ctr = bpf_map_lookup_elem(&fq_winctr, &zero);
	out = bpf_map_lookup_elem(&fq_winscratch, &zero);
	if (!ctr || !out)
		return 0;
	dir = fq_key_swap(p->src, 0, p->dst, 0);
	if (dir == FQ_DIR_LO_HI) {
		fq_copy16(key.addr_lo, p->src);
		fq_copy16(key.addr_hi, p->dst);
	} else {
		fq_copy16(key.addr_lo, p->dst);
		fq_copy16(key.addr_hi, p->src);
	}
	key.family = p->family;
	start = now - now % len;

	c = bpf_map_lookup_elem(&fq_conv, &key);
	if (!c) {
		{
			struct fq_conv init = {};

			init.w.key = key;
			init.w.start_ns = start;
			init.w.len_ns = len;
			init.w.initiator = dir;
			if (bpf_map_update_elem(&fq_conv, &key, &init, BPF_NOEXIST) &&
			    !bpf_map_lookup_elem(&fq_conv, &key)) {
				ctr->conv_full++;
				return 0;
			}
		}
		c = bpf_map_lookup_elem(&fq_conv, &key);
		if (!c)
			return 0;
	}

	bpf_spin_lock(&c->lock);
	if (start != c->w.start_ns) {
		/* the packet falls past the open window: close it */
		if (c->w.dir[0].packets || c->w.dir[1].packets) {
			*out = c->w;
			emit = 1;
		}
		__builtin_memset(&c->w.dir, 0, sizeof(c->w.dir));
		c->w.start_ns = start;
		c->w.len_ns = len;
	}
	d = &c->w.dir[dir & 1];
	if (d->packets) {
		__u64 iat = now > d->last_ns ? now - d->last_ns : 0;
		__u64 us = iat / 1000;

		d->iat_n++;
		d->iat_sum += iat;
		d->iat_sq += us * us;
	}
	d->packets++;
	d->bytes += p->ip_len;
	d->bytes_sq += (__u64)p->ip_len * p->ip_len;
	d->last_ns = now;
	bpf_spin_unlock(&c->lock);

	if (emit) {
		if (bpf_ringbuf_output(&fq_winrb, out, sizeof(*out), 0))
			ctr->rb_full++;
		else
			ctr->records++;
	}
	return 0;
}

#endif
