/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The exporter: what a running attach serves over HTTP (libmicrohttpd).
 *   GET  /metrics           Prometheus text format 0.0.4
 *   GET  /api/v1/query      ?by=proto|ip&(top=K|above_percent=H|above_sigma=X)[&window=T]
 *   GET  /api/v1/flows      ?limit=N (default 1000) live flows, most bytes first
 *   GET  /api/v1/params     {"H":..,"k":..,"X":..,"T":..}
 *   PUT|POST /api/v1/params JSON object with any of H, k, X, T
 *   GET  /api/v1/classes    the classifier of attach --model: records and
 *                           conversations per class, the conversation table
 *                           (503 when no classifier runs)
 * Every error is a 4xx/5xx with {"error": "..."}.  One mutex guards the
 * state; the attach loop (fq_exporter_poll/flow_end) and the HTTP threads
 * take it.  Responses of /metrics and /api/v1/query are cached per state
 * version under a second mutex: a hit neither waits for a poll in progress
 * nor computes anything, so a scrape storm costs a copy per request.
 *
 * Label cardinality of /metrics (no per-flow labels):
 *   direction (2) x IP protocols seen (<= 256); application protocols seen
 *   (bounded as in appproto.h, a few thousand at most); query results:
 *   at most FQ_METRICS_MAX_ROWS keys per standing query (6 queries);
 *   classes of the model (attach --model; classify.h publishes its counters).
 */
#ifndef FQ_HTTP_H
#define FQ_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "flowqoe.h"
#include "flowtab.h"
#include "query.h"

#define FQ_HTTP_DEFAULT_LISTEN "127.0.0.1:9464"
#define FQ_METRICS_MAX_ROWS 50
#define FQ_HTTP_CACHE 16

struct fq_app_ctr {
	uint32_t id;
	uint64_t bytes, pkts;
};

#define FQ_HTTP_NO_CLF UINT64_MAX

struct fq_http_cache {
	char key[192];
	uint64_t version;
	uint64_t clf_gen;          /* fq_clf_published_gen() of the body, or FQ_HTTP_NO_CLF */
	int code;
	char *body;
	size_t len;
};

struct fq_exporter {
	pthread_mutex_t mu;        /* everything but the cache */
	pthread_mutex_t cmu;       /* the response cache (taken inside mu or alone) */
	char ifname[64];
	struct fq_query *q;
	int flows_fd;              /* -1: /api/v1/flows answers 503 */
	int64_t epoch_off_s;
	int64_t epoch_off_ns;      /* program clock -> Unix time (classes table) */
	uint64_t version;          /* bumped by every poll and parameter change */
	/* interface counters from the BPF maps, as of the last poll */
	struct fq_totals t;
	struct fq_proto_ctr proto[256];
	bool have_proto;
	/* histograms: ended flows accumulated + live flows of the last poll */
	uint64_t size_end[FQ_SIZE_BINS], iat_end[FQ_IAT_BINS];
	uint64_t size_live[FQ_SIZE_BINS], iat_live[FQ_IAT_BINS];
	uint64_t bytes_end, bytes_live, iat_ns_end, iat_ns_live;
	/* per application protocol, from the flow deltas (monotonic) */
	struct fq_app_ctr *app;
	size_t napp, capp;
	/* standing query results of the last evaluation */
	struct fq_qresult res[6];
	bool have_res;
	/* health */
	uint64_t polls, flows_live, flows_ended, http_requests, http_errors;
	double poll_seconds, eval_seconds, render_seconds;
	struct fq_http_cache cache[FQ_HTTP_CACHE];
	unsigned cache_next;
	void *daemon;              /* struct MHD_Daemon */
	unsigned port;             /* bound port */
};

int fq_exporter_init(struct fq_exporter *x, const char *ifname, unsigned span,
		     const struct fq_qparams *p, size_t max_keys, size_t max_cells);
void fq_exporter_fini(struct fq_exporter *x);
/* Attach loop side (take the lock themselves).  now_sec: program clock.
 * proto may be NULL.  flow_end before the poll that follows it. */
void fq_exporter_flow_end(struct fq_exporter *x, const struct fq_flow_rec *r);
void fq_exporter_poll(struct fq_exporter *x, uint64_t now_sec, const struct fq_flow_rec *recs,
		      long n, const struct fq_totals *t, const struct fq_proto_ctr *proto);
/* Render /metrics (malloc'ed, NUL-terminated); takes the lock. */
char *fq_exporter_metrics(struct fq_exporter *x, size_t *len);
/* Start/stop the HTTP server; addr "HOST:PORT", "[V6]:PORT" (port 0: any). */
int fq_exporter_listen(struct fq_exporter *x, const char *addr);
void fq_exporter_stop(struct fq_exporter *x);

#endif
