/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Sliding-window query engine: the six standing queries (by application
 * protocol and by IP address: share above H percent, top k, above X standard
 * deviations) over the last T seconds at 1 s resolution.
 *
 * Storage (one fq_qstore per "by"): a ring of `span` one-second buckets,
 * each a growable array of 16-byte cells {key index, packets, bytes} holding
 * the deltas of that second (one cell per key and second), plus a key table
 * (open addressing) with each key's sums over the current window T.  Moving
 * to a new second subtracts the bucket that leaves the window and recycles
 * the bucket that leaves the ring; a key whose last cell leaves the ring is
 * deleted.  Memory is therefore
 *     16 B x (distinct (key, second) pairs in the last `span` s)
 *   + ~64 B x (keys seen in the last `span` s)
 * and is bounded by max_cells and max_keys: a delta that would exceed them is
 * not stored but counted (dropped_*), and results say "complete": false.
 *
 * Definitions (all results ordered by bytes descending, ties by key
 * ascending: IP keys by their 16-byte address with IPv4 as ::ffff:a.b.c.d,
 * protocol keys by (IP protocol number, port); the rule is total, so answers
 * are deterministic):
 *  - keys of a window: keys with at least one packet in it;
 *  - total: the interface's bytes in the window (each flow once; for "ip"
 *    a flow's bytes count for both its hosts, so shares sum to ~200 %);
 *  - above-percent H: keys with 100 * bytes > H * total (strict);
 *  - top k: the first k keys (all of them when k >= keys);
 *  - above-sigma X: keys with bytes > mean + X * sigma, mean and sigma the
 *    population mean and standard deviation (divide by n) over the window's
 *    keys; none when sigma == 0 (all equal, one key, empty window).
 */
#ifndef FQ_QUERY_H
#define FQ_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "flowtab.h"

#define FQ_QUERY_SPAN_MAX 86400 /* longest ring, seconds */

/* kind: FQ_QK_APP (b[0..3] = appproto id, big endian), 4 or 6 (b = address) */
#define FQ_QK_APP 0
struct fq_qkey {
	uint8_t b[16];
	uint8_t kind;
	uint8_t pad[3];
};

const char *fq_qkey_str(const struct fq_qkey *k, char *buf, size_t len);

struct fq_qstore;
struct fq_qstore *fq_qstore_new(unsigned span, unsigned window, size_t max_keys, size_t max_cells);
void fq_qstore_free(struct fq_qstore *st);
/* Move the store's clock to second sec (never backwards). */
void fq_qstore_advance(struct fq_qstore *st, uint64_t sec);
/* Add a delta for a key / for the total; sec may lie in the past (within
 * the ring; older deltas belong to no window the store answers and are only
 * counted as late), a later sec advances the clock first.  0, or -ENOSPC
 * (dropped and counted). */
int fq_qstore_add(struct fq_qstore *st, uint64_t sec, const struct fq_qkey *k, uint64_t bytes,
		  uint64_t pkts);
void fq_qstore_add_total(struct fq_qstore *st, uint64_t sec, uint64_t bytes, uint64_t pkts);
/* Change the maintained window (1..span); recomputes the sums. */
int fq_qstore_set_window(struct fq_qstore *st, unsigned window);

struct fq_qstore_stats {
	uint64_t now;          /* store clock, seconds */
	unsigned span, window;
	size_t keys, cells, mem_bytes;
	size_t max_keys, max_cells;
	uint64_t dropped_deltas, dropped_bytes;
	uint64_t late_deltas;  /* older than the ring when they came: ignored */
};
void fq_qstore_stats(const struct fq_qstore *st, struct fq_qstore_stats *s);

enum fq_qby { FQ_BY_PROTO = 0, FQ_BY_IP = 1 };
enum fq_qkind { FQ_Q_PERCENT = 0, FQ_Q_TOP = 1, FQ_Q_SIGMA = 2 };
const char *fq_qby_str(enum fq_qby by);
const char *fq_qkind_str(enum fq_qkind kind);
int fq_qby_parse(const char *s, enum fq_qby *by);

struct fq_qrow {
	struct fq_qkey key;
	uint64_t bytes, pkts;
};

struct fq_qresult {
	enum fq_qby by;
	enum fq_qkind kind;
	double param;           /* H, k or X */
	unsigned window;
	uint64_t now;           /* last second of the window (store clock) */
	uint64_t total_bytes, total_pkts;
	size_t nkeys;           /* keys in the window */
	double mean, sigma;     /* of the keys' bytes (population) */
	double threshold;       /* bytes a key must exceed (percent, sigma) */
	bool complete;          /* no delta was dropped for lack of memory */
	size_t n;
	struct fq_qrow *rows;   /* malloc'ed; fq_qresult_free */
};
void fq_qresult_free(struct fq_qresult *r);

/* Evaluate one query over the last `window` seconds (0: the store's
 * maintained window, the fast path; any other value up to span scans the
 * ring).  param: H in [0, 100], k >= 0, X finite.  0 or -EINVAL. */
int fq_qstore_eval(struct fq_qstore *st, enum fq_qkind kind, double param, unsigned window,
		   struct fq_qresult *out);

/* JSON of a result; epoch_off_s turns the store clock into Unix time. */
json_t *fq_qresult_json(const struct fq_qresult *r, int64_t epoch_off_s);

/* ---- the engine: both stores fed from flows ---------------------------- */

struct fq_qparams {
	double H;     /* percent */
	unsigned k;
	double X;     /* standard deviations */
	unsigned T;   /* window, seconds */
};
#define FQ_QPARAMS_DEFAULT { .H = 10.0, .k = 10, .X = 2.0, .T = 60 }
int fq_qparams_check(const struct fq_qparams *p, unsigned span, char *why, size_t len);

struct fq_query {
	struct fq_qstore *by[2];
	struct fq_qparams p;
	unsigned span;
	/* per-flow last-seen counters: live flow counters -> deltas */
	struct fq_ftrack *ft;
	uint64_t gen;
	uint64_t stale_flows;   /* tracked flows that vanished without an end */
};

struct fq_query *fq_query_new(unsigned span, const struct fq_qparams *p, size_t max_keys,
			      size_t max_cells);
void fq_query_free(struct fq_query *q);
/* One packet or delta of a flow at time sec: bytes go to the total, to the
 * flow's application protocol and to both of its addresses (once if equal). */
void fq_query_feed(struct fq_query *q, uint64_t sec, const struct fq_flow_key *k, uint64_t bytes,
		   uint64_t pkts);
void fq_query_advance(struct fq_query *q, uint64_t sec);
/* Change the parameters (checked); T changes both stores' windows. */
int fq_query_set_params(struct fq_query *q, const struct fq_qparams *p);

/* Live flows: call fq_query_flow() for every live flow of a poll and for
 * every ended flow (ended = true, forgets it), then fq_query_poll_done()
 * which forgets flows not seen in this poll.  The delta since the flow's
 * previous sighting is fed at the second of its last packet (ns / 1e9 of
 * the program clock); the delta is returned through dbytes/dpkts (may be
 * NULL). */
void fq_query_flow(struct fq_query *q, const struct fq_flow_rec *r, bool ended, uint64_t *dbytes,
		   uint64_t *dpkts);
void fq_query_poll_done(struct fq_query *q);
size_t fq_query_flows_tracked(const struct fq_query *q);

/* The six standing queries with the current parameters. */
int fq_query_eval_all(struct fq_query *q, struct fq_qresult out[6]);

#endif
