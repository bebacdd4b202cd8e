/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef FQ_FLOWTAB_H
#define FQ_FLOWTAB_H

#include <stdint.h>
#include <jansson.h>
#include "flowqoe.h"

struct fq_flow_rec {
	struct fq_flow_key key;
	struct fq_flow val;
};

/* Read every flow of a flow map with BPF_MAP_LOOKUP_BATCH (falls back to
 * get_next_key + lookup on kernels without batch ops).  *recs is
 * malloc'ed (free it); returns the count or a negative errno. */
long fq_flowtab_read(int map_fd, struct fq_flow_rec **recs);

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
