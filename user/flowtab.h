/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef FQ_FLOWTAB_H
#define FQ_FLOWTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "flowqoe.h"

struct fq_flow_rec {
	struct fq_flow_key key;
	struct fq_flow val;
};

/*
 * Reading the flow map.  A reader keeps its arrays between reads (the
 * daemon reads the table every interval: no allocation, no page fault and
 * no copy in the steady state), and BPF_MAP_LOOKUP_BATCH writes straight
 * into them: keys[i] is the key of vals[i] (two arrays, because the kernel
 * fills keys and values apart).  Kernels without batch ops fall back to
 * get_next_key + lookup.
 *
 *   struct fq_flowtab t;
 *   if (fq_flowtab_open(&t, fd)) ...;       // -EPROTO: another version's map
 *   n = fq_flowtab_read(&t);                // every interval
 *   for (i = 0; i < n; i++) use(&t.keys[i], &t.vals[i]);
 *   fq_flowtab_free(&t);
 *
 * The table does not own fd.  Not thread-safe: one reader per thread.
 */
struct fq_flowtab {
	int fd;
	long n;                   /* flows of the last read */
	struct fq_flow_key *keys; /* [cap] */
	struct fq_flow *vals;     /* [cap] */
	size_t cap;               /* starts at max_entries, grows on demand */
	uint32_t batch;           /* flows per batch call; 0 = all the room left */
	bool slow;                /* no batch ops in this kernel */
};

/* 0, -EPROTO when the map's key or value size is not ours, or -errno. */
int fq_flowtab_open(struct fq_flowtab *t, int map_fd);
/* The count (also in t->n) or a negative errno (t->n is 0 then). */
long fq_flowtab_read(struct fq_flowtab *t);
void fq_flowtab_free(struct fq_flowtab *t);
/* One-shot: open + read; fq_flowtab_free(t) afterwards in every case. */
long fq_flowtab_read_fd(struct fq_flowtab *t, int map_fd);

/* The flow seen from its initiator: fwd is the direction of the first
 * packet, src/sport the initiator's address and port. */
struct fq_flow_view {
	int family;
	int proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	const struct fq_dir_stats *fwd, *bwd;
	const struct fq_flow *f;
};

void fq_flow_view_kv(const struct fq_flow_key *k, const struct fq_flow *f, struct fq_flow_view *v);
void fq_flow_view(const struct fq_flow_rec *r, struct fq_flow_view *v);

/* Derived per-direction statistics (sizes in bytes, IATs in ns). */
double fq_dir_size_mean(const struct fq_dir_stats *d);
double fq_dir_size_std(const struct fq_dir_stats *d);
double fq_dir_iat_mean(const struct fq_dir_stats *d);
double fq_dir_iat_std(const struct fq_dir_stats *d);

/* Last packet time of the flow (ns, program clock). */
uint64_t fq_flow_last_ns(const struct fq_flow *f);

/* JSON object for one flow; epoch_off_ns converts the program clock to
 * Unix time (0 when the clock already is Unix time, as in replay). */
json_t *fq_flow_json_kv(const struct fq_flow_key *k, const struct fq_flow *f,
			int64_t epoch_off_ns, bool full);
json_t *fq_flow_json(const struct fq_flow_rec *r, int64_t epoch_off_ns, bool full);

/* Why a flow ended. */
enum fq_end_reason { FQ_END_NONE = 0, FQ_END_IDLE, FQ_END_ACTIVE, FQ_END_FIN, FQ_END_RST, FQ_END_EXIT };
const char *fq_end_reason_str(enum fq_end_reason r);

struct fq_expiry {
	uint64_t idle_ns;   /* no packet for this long */
	uint64_t active_ns; /* flow older than this */
	uint64_t fin_ns;    /* FIN both ways or RST, then quiet for this long */
};

enum fq_end_reason fq_flow_expired(const struct fq_flow *f, uint64_t now_ns,
				   const struct fq_expiry *e);

#endif
