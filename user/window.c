// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "common.h"
#include "window.h"

const char *const fq_win_feature_names[FQ_WIN_NFEAT] = {
	"fwd_size_mean", "fwd_size_std", "fwd_iat_mean", "fwd_iat_std", "fwd_bytes", "fwd_packets",
	"bwd_size_mean", "bwd_size_std", "bwd_iat_mean", "bwd_iat_std", "bwd_bytes", "bwd_packets",
};

static void dir_features(const struct fq_win_dir *d, double *o)
{
	double n = d->packets, m, v;

	o[0] = o[1] = o[2] = o[3] = 0;
	if (d->packets) {
		m = (double)d->bytes / n;
		v = (double)d->bytes_sq / n - m * m;
		o[0] = m;
		o[1] = v > 0 ? sqrt(v) : 0;
	}
	if (d->iat_n) {
		double k = d->iat_n;

		m = (double)d->iat_sum / 1000.0 / k; /* us */
		v = (double)d->iat_sq / k - m * m;
		o[2] = m;
		o[3] = v > 0 ? sqrt(v) : 0;
	}
	o[4] = d->bytes;
	o[5] = d->packets;
}

void fq_win_features(const struct fq_win_rec *r, double out[FQ_WIN_NFEAT])
{
	int f = r->initiator & 1;

	dir_features(&r->dir[f], out);
	dir_features(&r->dir[!f], out + 6);
}

int fq_win_out_open(struct fq_win_out *o, const char *path, bool json, int64_t off)
{
	memset(o, 0, sizeof(*o));
	o->json = json;
	o->epoch_off = off;
	if (!strcmp(path, "-")) {
		o->f = stdout;
	} else {
		o->f = fopen(path, "w");
		if (!o->f)
			return -errno;
		o->own = true;
	}
	if (!json) {
		fprintf(o->f, "start,duration_ms,src,dst");
		for (int i = 0; i < FQ_WIN_NFEAT; i++)
			fprintf(o->f, ",%s", fq_win_feature_names[i]);
		fputc('\n', o->f);
	}
	return 0;
}

void fq_win_out_write(struct fq_win_out *o, const struct fq_win_rec *r)
{
	const uint8_t *a = r->initiator ? r->key.addr_hi : r->key.addr_lo;
	const uint8_t *b = r->initiator ? r->key.addr_lo : r->key.addr_hi;
	int64_t t = (int64_t)r->start_ns + o->epoch_off;
	char sa[64], sb[64];
	double v[FQ_WIN_NFEAT];

	fq_addr_str(a, r->key.family, sa, sizeof(sa));
	fq_addr_str(b, r->key.family, sb, sizeof(sb));
	fq_win_features(r, v);
	if (o->json) {
		fprintf(o->f, "{\"start\":%lld.%09lld,\"duration_ms\":%.3f,\"src\":\"%s\",\"dst\":\"%s\"",
			(long long)(t / 1000000000), (long long)(t % 1000000000), r->len_ns / 1e6, sa, sb);
		for (int i = 0; i < FQ_WIN_NFEAT; i++)
			fprintf(o->f, ",\"%s\":%.17g", fq_win_feature_names[i], v[i]);
		fputs("}\n", o->f);
	} else {
		fprintf(o->f, "%lld.%09lld,%.3f,%s,%s", (long long)(t / 1000000000),
			(long long)(t % 1000000000), r->len_ns / 1e6, sa, sb);
		for (int i = 0; i < FQ_WIN_NFEAT; i++)
			fprintf(o->f, ",%.17g", v[i]);
		fputc('\n', o->f);
	}
	o->written++;
}

void fq_win_out_close(struct fq_win_out *o)
{
	if (!o->f)
		return;
	fflush(o->f);
	if (o->own)
		fclose(o->f);
	o->f = NULL;
}

long fq_win_flush(int fd, uint64_t now, bool all, fq_win_cb cb, void *ctx)
{
	struct fq_conv_key k, next;
	struct fq_conv v;
	void *prev = NULL;
	long n = 0;
	/* collect first: deleting while iterating restarts get_next_key */
	struct fq_conv_key *dead = NULL;
	size_t nd = 0, cap = 0;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if (bpf_map_lookup_elem_flags(fd, &next, &v, BPF_F_LOCK) == 0 &&
		    (all || v.w.start_ns + v.w.len_ns <= now)) {
			if (nd == cap) {
				struct fq_conv_key *t;

				cap = cap ? cap * 2 : 256;
				t = realloc(dead, cap * sizeof(*t));
				if (!t)
					break;
				dead = t;
			}
			dead[nd++] = next;
		}
		k = next;
		prev = &k;
	}
	for (size_t i = 0; i < nd; i++) {
		/* the final value comes with the delete, under the entry's lock */
		if (bpf_map_lookup_and_delete_elem_flags(fd, &dead[i], &v, BPF_F_LOCK))
			continue;
		/* a packet may have reopened it between the look and the delete:
		 * its (shorter) window is passed on all the same, never lost */
		if (v.w.dir[0].packets || v.w.dir[1].packets) {
			cb(ctx, &v.w);
			n++;
		}
	}
	free(dead);
	return n;
}
