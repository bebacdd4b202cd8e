// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * atomic.bpf.c - the datapath with its per-flow update done the other way,
 * for `make bench` to measure against the product on the same packet:
 * every field its own atomic instruction (lock xadd; xchg for the
 * last-packet time; bounded cmpxchg loops for min/max) and no spin lock.
 * The rest of bpf/flowqoe.bpf.c is included unchanged.  Not a product: a
 * lost min/max race here gives up after FQ_CAS_TRIES.
 */
#define FQ_BENCH_ATOMIC 1
#include "flowqoe.bpf.c"

#define FQ_CAS_TRIES 4

#define FQ_MIN_MAX(name, type, cmp)                                                  \
	static __always_inline void name(type *slot, type v)                          \
	{                                                                             \
		for (int i = 0; i < FQ_CAS_TRIES; i++) {                              \
			type old = *(volatile type *)slot;                            \
			if (!(v cmp old))                                             \
				return;                                               \
			if (__sync_val_compare_and_swap(slot, old, v) == old)         \
				return;                                               \
		}                                                                     \
	}
FQ_MIN_MAX(fq_amin64, __u64, <)
FQ_MIN_MAX(fq_amax64, __u64, >)
FQ_MIN_MAX(fq_amin32, __u32, <)
FQ_MIN_MAX(fq_amax32, __u32, >)

static __always_inline void fq_aiat(__u64 *sum, __u64 *sq, __u64 *min, __u64 *max, __u64 iat)
{
	__u64 us = iat / 1000;

	__sync_fetch_and_add(sum, iat);
	__sync_fetch_and_add(sq, us * us);
	fq_amin64(min, iat);
	fq_amax64(max, iat);
}

static __always_inline void fq_flow_add_atomic(struct fq_flow *f, const struct fq_pkt *p,
					       __u8 dir, __u64 now)
{
	struct fq_dir_stats *d = &f->dir[dir & 1];
	__u32 size = p->ip_len, bin;
	__u64 prev;

	__sync_fetch_and_add(&d->packets, 1);
	__sync_fetch_and_add(&d->bytes, size);
	__sync_fetch_and_add(&d->size_sq, (__u64)size * size);
	__sync_fetch_and_add(&d->hdr_bytes, p->hdr_len);
	if (p->ip_len > p->hdr_len)
		__sync_fetch_and_add(&d->payload, p->ip_len - p->hdr_len);
	bin = fq_log2(size);
	if (bin >= FQ_SIZE_BINS)
		bin = FQ_SIZE_BINS - 1;
	__sync_fetch_and_add(&d->size_hist[bin], 1);
	fq_amin32(&d->size_min, size);
	fq_amax32(&d->size_max, size);
	prev = __sync_lock_test_and_set(&d->last_ns, now);
	if (prev == 0) {
		__sync_val_compare_and_swap(&d->first_ns, 0, now);
	} else {
		__u64 iat = now > prev ? now - prev : 0;

		bin = fq_log2(iat / 1000);
		if (bin >= FQ_IAT_BINS)
			bin = FQ_IAT_BINS - 1;
		__sync_fetch_and_add(&d->iat_hist[bin], 1);
		fq_aiat(&d->iat_sum, &d->iat_sq, &d->iat_min, &d->iat_max, iat);
	}
	if (p->proto == IPPROTO_TCP_ && p->tcp_flags) {
		__u8 fl = p->tcp_flags;

		for (int i = 0; i < FQ_NFLAGS; i++)
			if (fl & (1 << i))
				__sync_fetch_and_add(&d->flags[i], 1);
	}
	prev = __sync_lock_test_and_set(&f->last_ns, now);
	if (prev)
		fq_aiat(&f->iat_sum, &f->iat_sq, &f->iat_min, &f->iat_max,
			now > prev ? now - prev : 0);
	if (p->frag == 2)
		__sync_fetch_and_add(&f->frags, 1);
	if (p->proto == IPPROTO_TCP_) {
		if (p->tcp_flags & 0x01)
			__sync_fetch_and_or(&f->fin_seen, 1 << dir);
		if (p->tcp_flags & 0x04)
			f->rst_seen = 1;
	}
}
