// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "common.h"
#include "flowtab.h"

/*
 * The arrays are mappings of their own, with transparent huge pages asked
 * for (THP is "madvise" on Debian): 64 MiB of values per 100k flows is
 * 16k page faults on a cold read and as many TLB entries for the kernel's
 * copy on every read; with 2 MiB pages, 32.  mremap keeps what was read.
 */
static void *remap(void *old, size_t old_len, size_t len)
{
	void *p = old ? mremap(old, old_len, len, MREMAP_MAYMOVE) :
			mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, len, MADV_HUGEPAGE); /* a hint: without THP, plain pages */
	return p;
}

/* Room for at least n flows; what was read stays. */
static int grow(struct fq_flowtab *t, size_t need)
{
	size_t cap = t->cap ? t->cap : 1024;
	struct fq_flow_key *k;
	struct fq_flow *v;

	while (cap < need)
		cap *= 2;
	if (cap == t->cap)
		return 0;
	k = remap(t->keys, t->cap * sizeof(*k), cap * sizeof(*k));
	if (!k)
		return -ENOMEM;
	t->keys = k;
	v = remap(t->vals, t->cap * sizeof(*v), cap * sizeof(*v));
	if (!v) {
		/* back to the size cap says (shrinking in place cannot fail) */
		if (t->cap) {
			mremap(k, cap * sizeof(*k), t->cap * sizeof(*k), 0);
		} else {
			munmap(k, cap * sizeof(*k));
			t->keys = NULL;
		}
		return -ENOMEM;
	}
	t->vals = v;
	t->cap = cap;
	return 0;
}

static long read_slow(struct fq_flowtab *t)
{
	struct fq_flow_key k;
	void *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(t->fd, prev, &t->keys[n]) == 0) {
		k = t->keys[n];
		prev = &k;
		if (bpf_map_lookup_elem(t->fd, &k, &t->vals[n]))
			continue; /* deleted since: skip it */
		if (++n == t->cap && grow(t, n + 1))
			return -ENOMEM;
	}
	return n;
}

int fq_flowtab_open(struct fq_flowtab *t, int fd)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	if (info.key_size != sizeof(struct fq_flow_key) ||
	    info.value_size != sizeof(struct fq_flow))
		return -EPROTO; /* a flowqoe of another version pinned this map */
	/* the whole table in one batch call; arrays allocated, not touched:
	 * the first read faults in only what it fills */
	return grow(t, info.max_entries ? info.max_entries : 1);
}

/*
 * Each call asks for all the room left (t->batch = 0), so the usual read is
 * one syscall.  Why the room can run out: flows deleted and re-created
 * during the walk may be met twice, so a read may return more than
 * max_entries; the kernel also refuses (ENOSPC) a batch smaller than the
 * hash bucket it stands at.  Either way: grow and go on from that bucket.
 */
long fq_flowtab_read(struct fq_flowtab *t)
{
	__u64 batch = 0;
	void *in = NULL;
	size_t n = 0;

	t->n = 0;
	if (!t->keys)
		return -EINVAL; /* fq_flowtab_open failed or was not called */
	if (t->slow)
		goto slow;
	for (;;) {
		__u32 count = t->cap - n;
		int err;

		if (t->batch && count > t->batch)
			count = t->batch;
		err = bpf_map_lookup_batch(t->fd, in, &batch, &t->keys[n], &t->vals[n], &count, NULL);
		if (err && (errno == EINVAL || errno == ENOTSUP || errno == 524 /* ENOTSUPP */) &&
		    n == 0 && !in) {
			t->slow = true;
			goto slow;
		}
		n += count;
		if (err && errno == ENOENT) /* done */
			break;
		if (err && errno != ENOSPC)
			return -errno;
		if (err && t->batch && t->batch < t->cap - n)
			t->batch *= 2; /* a bucket bigger than the batch */
		else if ((n == t->cap || err) && grow(t, t->cap + 1))
			return -ENOMEM;
		in = &batch;
	}
	t->n = n;
	return n;
slow: {
		long r = read_slow(t);

		t->n = r < 0 ? 0 : r;
		return r;
	}
}

void fq_flowtab_free(struct fq_flowtab *t)
{
	if (t->keys)
		munmap(t->keys, t->cap * sizeof(*t->keys));
	if (t->vals)
		munmap(t->vals, t->cap * sizeof(*t->vals));
	t->keys = NULL;
	t->vals = NULL;
	t->cap = 0;
	t->n = 0;
}

long fq_flowtab_read_fd(struct fq_flowtab *t, int fd)
{
	int err = fq_flowtab_open(t, fd);

	return err ? err : fq_flowtab_read(t);
}

void fq_flow_view_kv(const struct fq_flow_key *k, const struct fq_flow *f, struct fq_flow_view *v)
{
	int init = f->initiator & 1;

	v->family = k->family;
	v->proto = k->proto;
	v->f = f;
	if (init == FQ_DIR_LO_HI) {
		memcpy(v->src, k->addr_lo, 16);
		memcpy(v->dst, k->addr_hi, 16);
		v->sport = k->port_lo;
		v->dport = k->port_hi;
	} else {
		memcpy(v->src, k->addr_hi, 16);
		memcpy(v->dst, k->addr_lo, 16);
		v->sport = k->port_hi;
		v->dport = k->port_lo;
	}
	v->fwd = &f->dir[init];
	v->bwd = &f->dir[!init];
}

void fq_flow_view(const struct fq_flow_rec *r, struct fq_flow_view *v)
{
	fq_flow_view_kv(&r->key, &r->val, v);
}

double fq_dir_size_mean(const struct fq_dir_stats *d)
{
	return d->packets ? (double)d->bytes / d->packets : 0;
}

double fq_dir_size_std(const struct fq_dir_stats *d)
{
	double m, var;

	if (d->packets < 2)
		return 0;
	m = (double)d->bytes / d->packets;
	/* sample standard deviation (n - 1), as CICFlowMeter and nDPI use */
	var = ((double)d->size_sq - d->packets * m * m) / (d->packets - 1);
	return var > 0 ? sqrt(var) : 0;
}

double fq_dir_iat_mean(const struct fq_dir_stats *d)
{
	return d->packets > 1 ? (double)d->iat_sum / (d->packets - 1) : 0;
}

double fq_dir_iat_std(const struct fq_dir_stats *d)
{
	double n, m, var;

	if (d->packets < 3)
		return 0;
	n = d->packets - 1; /* IAT samples */
	m = (double)d->iat_sum / 1000.0 / n; /* us, as iat_sq */
	var = ((double)d->iat_sq - n * m * m) / (n - 1);
	return var > 0 ? sqrt(var) * 1000.0 : 0;
}

uint64_t fq_flow_last_ns(const struct fq_flow *f)
{
	uint64_t a = f->dir[0].last_ns, b = f->dir[1].last_ns;

	return a > b ? a : b;
}

const char *fq_end_reason_str(enum fq_end_reason r)
{
	switch (r) {
	case FQ_END_IDLE: return "idle";
	case FQ_END_ACTIVE: return "active";
	case FQ_END_FIN: return "fin";
	case FQ_END_RST: return "rst";
	case FQ_END_EXIT: return "exit";
	default: return "none";
	}
}

enum fq_end_reason fq_flow_expired(const struct fq_flow *f, uint64_t now,
				   const struct fq_expiry *e)
{
	uint64_t last = fq_flow_last_ns(f);
	uint64_t quiet = now > last ? now - last : 0;

	if (f->rst_seen && quiet >= e->fin_ns)
		return FQ_END_RST;
	if (f->fin_seen == 3 && quiet >= e->fin_ns)
		return FQ_END_FIN;
	if (quiet >= e->idle_ns)
		return FQ_END_IDLE;
	if (now > f->first_ns && now - f->first_ns >= e->active_ns)
		return FQ_END_ACTIVE;
	return FQ_END_NONE;
}

static json_t *epoch_json(uint64_t ns, int64_t off)
{
	int64_t t = (int64_t)ns + off;

	return json_real((double)(t / 1000000000LL) + (double)(t % 1000000000LL) / 1e9);
}

static const char *flag_names[FQ_NFLAGS] = { "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr" };

static json_t *dir_json(const struct fq_dir_stats *d, int64_t off, bool full)
{
	json_t *o = json_object();
	json_t *fl, *sh, *ih;
	int i;

	json_object_set_new(o, "packets", json_integer(d->packets));
	json_object_set_new(o, "bytes", json_integer(d->bytes));
	json_object_set_new(o, "payload_bytes", json_integer(d->payload));
	json_object_set_new(o, "header_bytes", json_integer(d->hdr_bytes));
	json_object_set_new(o, "size_min", json_integer(d->packets ? d->size_min : 0));
	json_object_set_new(o, "size_max", json_integer(d->size_max));
	json_object_set_new(o, "size_mean", json_real(fq_dir_size_mean(d)));
	json_object_set_new(o, "size_std", json_real(fq_dir_size_std(d)));
	json_object_set_new(o, "iat_min_ns", json_integer(d->packets > 1 ? d->iat_min : 0));
	json_object_set_new(o, "iat_max_ns", json_integer(d->iat_max));
	json_object_set_new(o, "iat_mean_ns", json_real(fq_dir_iat_mean(d)));
	json_object_set_new(o, "iat_std_ns", json_real(fq_dir_iat_std(d)));
	if (!full)
		return o;
	fl = json_object();
	for (i = 0; i < FQ_NFLAGS; i++)
		json_object_set_new(fl, flag_names[i], json_integer(d->flags[i]));
	json_object_set_new(o, "tcp_flags", fl);
	sh = json_array();
	for (i = 0; i < FQ_SIZE_BINS; i++)
		json_array_append_new(sh, json_integer(d->size_hist[i]));
	json_object_set_new(o, "size_log2_hist", sh);
	ih = json_array();
	for (i = 0; i < FQ_IAT_BINS; i++)
		json_array_append_new(ih, json_integer(d->iat_hist[i]));
	json_object_set_new(o, "iat_log2_us_hist", ih);
	(void)off;
	return o;
}

json_t *fq_flow_json_kv(const struct fq_flow_key *k, const struct fq_flow *f, int64_t off, bool full)
{
	struct fq_flow_view v;
	char a[64];
	json_t *o = json_object();
	uint64_t last = fq_flow_last_ns(f);

	fq_flow_view_kv(k, f, &v);
	json_object_set_new(o, "proto", json_integer(v.proto));
	json_object_set_new(o, "family", json_integer(v.family));
	fq_addr_str(v.src, v.family, a, sizeof(a));
	json_object_set_new(o, "src", json_string(a));
	json_object_set_new(o, "sport", json_integer(v.sport));
	fq_addr_str(v.dst, v.family, a, sizeof(a));
	json_object_set_new(o, "dst", json_string(a));
	json_object_set_new(o, "dport", json_integer(v.dport));
	if (k->vlan)
		json_object_set_new(o, "vlan", json_integer(k->vlan));
	json_object_set_new(o, "fwd_packets", json_integer(v.fwd->packets));
	json_object_set_new(o, "bwd_packets", json_integer(v.bwd->packets));
	json_object_set_new(o, "fwd_bytes", json_integer(v.fwd->bytes));
	json_object_set_new(o, "bwd_bytes", json_integer(v.bwd->bytes));
	json_object_set_new(o, "first_seen", epoch_json(f->first_ns, off));
	json_object_set_new(o, "last_seen", epoch_json(last, off));
	json_object_set_new(o, "first_seen_ns", json_integer((int64_t)f->first_ns + off));
	json_object_set_new(o, "last_seen_ns", json_integer((int64_t)last + off));
	json_object_set_new(o, "fwd", dir_json(v.fwd, off, full));
	json_object_set_new(o, "bwd", dir_json(v.bwd, off, full));
	if (f->frags)
		json_object_set_new(o, "fragments", json_integer(f->frags));
	return o;
}

json_t *fq_flow_json(const struct fq_flow_rec *r, int64_t off, bool full)
{
	return fq_flow_json_kv(&r->key, &r->val, off, full);
}
