// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "common.h"
#include "flowtab.h"

#define BATCH 4096

static long read_slow(int fd, struct fq_flow_rec **recs)
{
	struct fq_flow_key k, next;
	struct fq_flow_rec *out = NULL;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (n == cap) {
			struct fq_flow_rec *t;

			cap = cap ? cap * 2 : 1024;
			t = realloc(out, cap * sizeof(*out));
			if (!t) {
				free(out);
				return -ENOMEM;
			}
			out = t;
		}
		if (bpf_map_lookup_elem(fd, &next, &out[n].val) == 0) {
			out[n].key = next;
			n++;
		}
		k = next;
		prev = &k;
	}
	*recs = out;
	return n;
}

long fq_flowtab_read(int fd, struct fq_flow_rec **recs)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct fq_flow_key *keys = NULL;
	struct fq_flow *vals = NULL;
	struct fq_flow_rec *out = NULL;
	size_t n = 0, cap;
	__u64 batch = 0;
	void *in = NULL;
	long ret;

	*recs = NULL;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -errno;
	if (info.key_size != sizeof(struct fq_flow_key) ||
	    info.value_size != sizeof(struct fq_flow))
		return -EPROTO; /* a flowqoe of another version pinned this map */
	cap = info.max_entries;
	out = malloc((cap ? cap : 1) * sizeof(*out));
	keys = malloc(BATCH * sizeof(*keys));
	vals = malloc(BATCH * sizeof(*vals));
	if (!out || !keys || !vals) {
		ret = -ENOMEM;
		goto fail;
	}
	for (;;) {
		__u32 count = BATCH;
		int err;

		err = bpf_map_lookup_batch(fd, in, &batch, keys, vals, &count, NULL);
		if (err && errno != ENOENT) {
			if ((errno == EINVAL || errno == ENOTSUP || errno == 524 /* ENOTSUPP */) && n == 0) {
				free(keys);
				free(vals);
				free(out);
				return read_slow(fd, recs);
			}
			ret = -errno;
			goto fail;
		}
		for (__u32 i = 0; i < count && n < cap; i++, n++) {
			out[n].key = keys[i];
			out[n].val = vals[i];
		}
		if (err) /* ENOENT: done */
			break;
		in = &batch;
	}
	free(keys);
	free(vals);
	*recs = out;
	return n;
fail:
	free(keys);
	free(vals);
	free(out);
	return ret;
}

void fq_flow_view(const struct fq_flow_rec *r, struct fq_flow_view *v)
{
	int init = r->val.initiator & 1;

	v->family = r->key.family;
	v->proto = r->key.proto;
	v->f = &r->val;
	if (init == FQ_DIR_LO_HI) {
		memcpy(v->src, r->key.addr_lo, 16);
		memcpy(v->dst, r->key.addr_hi, 16);
		v->sport = r->key.port_lo;
		v->dport = r->key.port_hi;
	} else {
		memcpy(v->src, r->key.addr_hi, 16);
		memcpy(v->dst, r->key.addr_lo, 16);
		v->sport = r->key.port_hi;
		v->dport = r->key.port_lo;
	}
	v->fwd = &r->val.dir[init];
	v->bwd = &r->val.dir[!init];
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

json_t *fq_flow_json(const struct fq_flow_rec *r, int64_t off, bool full)
{
	struct fq_flow_view v;
	char a[64];
	json_t *o = json_object();
	uint64_t last = fq_flow_last_ns(&r->val);

	fq_flow_view(r, &v);
	json_object_set_new(o, "proto", json_integer(v.proto));
	json_object_set_new(o, "family", json_integer(v.family));
	fq_addr_str(v.src, v.family, a, sizeof(a));
	json_object_set_new(o, "src", json_string(a));
	json_object_set_new(o, "sport", json_integer(v.sport));
	fq_addr_str(v.dst, v.family, a, sizeof(a));
	json_object_set_new(o, "dst", json_string(a));
	json_object_set_new(o, "dport", json_integer(v.dport));
	if (r->key.vlan)
		json_object_set_new(o, "vlan", json_integer(r->key.vlan));
	json_object_set_new(o, "fwd_packets", json_integer(v.fwd->packets));
	json_object_set_new(o, "bwd_packets", json_integer(v.bwd->packets));
	json_object_set_new(o, "fwd_bytes", json_integer(v.fwd->bytes));
	json_object_set_new(o, "bwd_bytes", json_integer(v.bwd->bytes));
	json_object_set_new(o, "first_seen", epoch_json(r->val.first_ns, off));
	json_object_set_new(o, "last_seen", epoch_json(last, off));
	json_object_set_new(o, "first_seen_ns", json_integer((int64_t)r->val.first_ns + off));
	json_object_set_new(o, "last_seen_ns", json_integer((int64_t)last + off));
	json_object_set_new(o, "fwd", dir_json(v.fwd, off, full));
	json_object_set_new(o, "bwd", dir_json(v.bwd, off, full));
	if (r->val.frags)
		json_object_set_new(o, "fragments", json_integer(r->val.frags));
	return o;
}
