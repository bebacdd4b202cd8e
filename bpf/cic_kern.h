/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cic_kern.h - per-flow state for the CICFlowMeter feature set (BPF only).
 * Included by flowqoe.bpf.c; fq_cic_update() runs at the end of
 * fq_flow_update() only when cfg_cic is set, so a plain attach pays nothing.
 * Feature definitions: docs/features.md.
 */
#ifndef FQ_CIC_KERN_H
#define FQ_CIC_KERN_H

#include "flowqoe.h"
#include "parse.h"

/* Set by userspace between open and load. */
FQ_RODATA __u8 cfg_cic = 0;
/* CICFlowMeter's activity timeout: a gap longer than this ends an active
 * period and counts as idle time (CIC default 5 s). */
FQ_RODATA __u64 cfg_cic_act_ns = 5000000000ULL;

/* Replay output (cfg_replay_clock only): enum fq_cic_event bits, the flow
 * and its first packet time, for the packet BPF_PROG_RUN just ran. */
__u32 fq_cic_ev = 0;
__u64 fq_cic_first = 0;
struct fq_flow_key fq_cic_key = {};

/* Same key and size as fq_flows (userspace sets max_entries to match).
 * Not pinned: only the process that loaded it reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQ_DEFAULT_MAX_FLOWS);
	__type(key, struct fq_flow_key);
	__type(value, struct fq_cic);
} fq_cic SEC(".maps");

/* An all-zero value to create entries from: struct fq_cic is too large
 * for the stack.  Never written; fields that start non-zero are set under
 * the lock when the first packet arrives.  Typed as plain bytes: the
 * verifier refuses a value holding a bpf_spin_lock as a helper argument. */
struct fq_cic_blank {
	__u8 b[sizeof(struct fq_cic)];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fq_cic_blank);
} fq_cic_zero SEC(".maps");

#define FQ_NS_PER_S 1000000000ULL

static __always_inline void fq_cic_series_add(struct fq_cic_series *s, __u64 v)
{
	__u64 us = v / 1000;

	s->n++;
	s->sum += v;
	s->sq += us * us;
	if (v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
}

/* CICFlowMeter's bulk state machine; other_last is the last bulk packet of
 * the other direction (a data packet there breaks this direction's bulk). */
static __always_inline void fq_cic_bulk(struct fq_cic_bulk *b, __u64 other_last,
					__u32 size, __u64 now)
{
	if (other_last > b->start)
		b->start = 0;
	if (!size)
		return;
	if (b->start == 0 || now - b->last > FQ_NS_PER_S) {
		b->start = now;
		b->last = now;
		b->cnt_helper = 1;
		b->size_helper = size;
		return;
	}
	b->cnt_helper++;
	b->size_helper += size;
	if (b->cnt_helper == 4) {
		b->states++;
		b->pkts += b->cnt_helper;
		b->bytes += b->size_helper;
		b->dur += now - b->start;
	} else if (b->cnt_helper > 4) {
		b->pkts++;
		b->bytes += size;
		b->dur += now - b->last;
	}
	b->last = now;
}

static __always_inline void fq_cic_dir_init(struct fq_cic_dir *d)
{
	d->pl_min = ~0U;
	d->l4hdr_min = ~0U;
}

static __always_inline void fq_cic_dir_add(struct fq_cic_dir *d, const struct fq_pkt *p,
					   __u32 pl, __u32 pad)
{
	if (d->pkts == 0)
		d->init_win = p->tcp_win;
	d->pkts++;
	d->last_win = p->tcp_win;
	d->pl_sum += pl;
	d->pl_sq += (__u64)pl * pl;
	if (pl < d->pl_min)
		d->pl_min = pl;
	if (pl > d->pl_max)
		d->pl_max = pl;
	if (pl)
		d->data_pkts++;
	d->l4hdr_sum += p->l4_hdr;
	if (p->l4_hdr < d->l4hdr_min)
		d->l4hdr_min = p->l4_hdr;
	d->pad_bytes += pad;
}

/*
 * Global: verified once on its own.  Everything between lock and unlock is
 * inlined (no calls may be made under a BPF spin lock).  The lock makes one
 * packet's update atomic against the other hook's CPU live; replay is
 * single-threaded anyway.  dir_closed: the packet's direction (bit 0), and
 * FQ_CIC_CLOSED if the flow is closed with it (FIN both ways, or RST):
 * a BPF function takes five arguments at most.
 */
#define FQ_CIC_CLOSED 2
__noinline int fq_cic_update(const struct fq_flow_key *k, const struct fq_pkt *p,
			     __u32 dir_closed, __u64 now, __u64 flow_first_ns)
{
	__u32 dir = dir_closed & 1, closed = dir_closed & FQ_CIC_CLOSED;
	struct fq_flow_key key;
	struct fq_cic *c;
	struct fq_cic_dir *d, *o;
	__u32 zero = 0, pl, pad = 0, ev = FQ_CIC_EV_SEEN;

	if (!k || !p)
		return 0;
	/* A global function's pointer argument is plain memory to the
	 * verifier; kernels before 6.3 accept only stack, packet or map
	 * memory as a map key, so look up with a copy on the stack. */
	key = *k;
	c = bpf_map_lookup_elem(&fq_cic, &key);
	if (!c) {
		struct fq_cic_blank *z = bpf_map_lookup_elem(&fq_cic_zero, &zero);

		if (!z)
			return 0;
		bpf_map_update_elem(&fq_cic, &key, z, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&fq_cic, &key);
		if (!c)
			return 0;
	}
	pl = p->ip_len > p->hdr_len ? p->ip_len - p->hdr_len : 0;
	if (p->l2_len && p->frame_len > p->l2_len + p->ip_len)
		pad = p->frame_len - p->l2_len - p->ip_len;

	/* replay runs one BPF_PROG_RUN at a time: no other CPU updates c
	 * (the verifier knows cfg_replay_clock and keeps one path) */
	if (!cfg_replay_clock)
		bpf_spin_lock(&c->lock);
	if (dir) {
		d = &c->dir[1];
		o = &c->dir[0];
	} else {
		d = &c->dir[0];
		o = &c->dir[1];
	}
	if (c->pkts == 0) {
		fq_cic_dir_init(&c->dir[0]);
		fq_cic_dir_init(&c->dir[1]);
		c->active.min = ~0ULL;
		c->idle.min = ~0ULL;
		c->start_active = now;
		c->end_active = now;
		c->sf_last = now;
		c->first_payload = pl;
		c->first_dir = dir;
		ev |= FQ_CIC_EV_NEW;
	} else {
		__u64 gap = now > c->end_active ? now - c->end_active : 0;

		if (gap > cfg_cic_act_ns) {
			if (c->end_active > c->start_active)
				fq_cic_series_add(&c->active, c->end_active - c->start_active);
			fq_cic_series_add(&c->idle, gap);
			c->start_active = now;
		}
		if (now > c->end_active)
			c->end_active = now;
		if (now > c->sf_last && now - c->sf_last > FQ_NS_PER_S)
			c->sf_gaps++;
		c->sf_last = now;
	}
	c->pkts++;
	fq_cic_dir_add(d, p, pl, pad);
	fq_cic_bulk(&d->bulk, o->bulk.last, pl, now);
	fq_cic_bulk(&c->bulk_all, 0, pl, now);
	if (closed && !c->closed) {
		c->closed = 1;
		ev |= FQ_CIC_EV_CLOSE;
	}
	if (!cfg_replay_clock)
		bpf_spin_unlock(&c->lock);

	if (cfg_replay_clock) {
		if (p->proto == IPPROTO_TCP_ && (p->tcp_flags & 0x01))
			ev |= FQ_CIC_EV_FIN;
		fq_cic_ev = ev;
		fq_cic_first = flow_first_ns;
		__builtin_memcpy(&fq_cic_key, k, sizeof(fq_cic_key));
	}
	return 0;
}

#endif /* FQ_CIC_KERN_H */
