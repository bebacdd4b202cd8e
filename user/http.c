// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The exporter of a running attach: Prometheus /metrics and a small JSON API
 * (queries, flows, live parameters) over libmicrohttpd; see http.h.  It joins
 * `flowqoe attach` as an attach hook (--listen, --query-*).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <microhttpd.h>
#include "common.h"
#include "appproto.h"
#include "attach.h"
#include "classify.h"
#include "http.h"
#include "flowqoe.skel.h"

#define BODY_MAX 65536

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int fq_exporter_init(struct fq_exporter *x, const char *ifname, unsigned span,
		     const struct fq_qparams *p, size_t max_keys, size_t max_cells)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->mu, NULL);
	pthread_mutex_init(&x->cmu, NULL);
	snprintf(x->ifname, sizeof(x->ifname), "%s", ifname);
	x->flows_fd = -1;
	x->q = fq_query_new(span, p, max_keys, max_cells);
	return x->q ? 0 : -errno;
}

static void free_res(struct fq_exporter *x)
{
	for (int i = 0; i < 6; i++)
		fq_qresult_free(&x->res[i]);
	x->have_res = false;
}

void fq_exporter_fini(struct fq_exporter *x)
{
	fq_exporter_stop(x);
	free_res(x);
	fq_query_free(x->q);
	x->q = NULL;
	free(x->app);
	x->app = NULL;
	for (int i = 0; i < FQ_HTTP_CACHE; i++)
		free(x->cache[i].body);
	memset(x->cache, 0, sizeof(x->cache));
	pthread_mutex_destroy(&x->mu);
	pthread_mutex_destroy(&x->cmu);
}

/* per-app counters: a sorted array (a few thousand ids at most) */
static void app_add(struct fq_exporter *x, uint32_t id, uint64_t b, uint64_t p)
{
	size_t lo = 0, hi = x->napp;

	if (!b && !p)
		return;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->app[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < x->napp && x->app[lo].id == id) {
		x->app[lo].bytes += b;
		x->app[lo].pkts += p;
		return;
	}
	if (x->napp == x->capp) {
		size_t nc = x->capp ? x->capp * 2 : 64;
		struct fq_app_ctr *a = realloc(x->app, nc * sizeof(*a));

		if (!a)
			return;
		x->app = a;
		x->capp = nc;
	}
	memmove(&x->app[lo + 1], &x->app[lo], (x->napp - lo) * sizeof(*x->app));
	x->app[lo] = (struct fq_app_ctr){ .id = id, .bytes = b, .pkts = p };
	x->napp++;
}

static void hist_add(const struct fq_flow *f, uint64_t *size, uint64_t *iat, uint64_t *bytes,
		     uint64_t *iat_ns)
{
	for (int d = 0; d < FQ_DIR_MAX; d++) {
		for (int i = 0; i < FQ_SIZE_BINS; i++)
			size[i] += f->dir[d].size_hist[i];
		for (int i = 0; i < FQ_IAT_BINS; i++)
			iat[i] += f->dir[d].iat_hist[i];
		*bytes += f->dir[d].bytes;
		*iat_ns += f->dir[d].iat_sum;
	}
}

static void flow_delta(struct fq_exporter *x, const struct fq_flow_rec *r, bool ended)
{
	uint64_t db = 0, dp = 0;

	fq_query_flow(x->q, r, ended, &db, &dp);
	app_add(x, fq_appproto_id(r->key.proto, r->key.port_lo, r->key.port_hi), db, dp);
}

void fq_exporter_flow_end(struct fq_exporter *x, const struct fq_flow_rec *r)
{
	pthread_mutex_lock(&x->mu);
	flow_delta(x, r, true);
	hist_add(&r->val, x->size_end, x->iat_end, &x->bytes_end, &x->iat_ns_end);
	x->flows_ended++;
	pthread_mutex_unlock(&x->mu);
}

static void evaluate(struct fq_exporter *x)
{
	double t0 = mono_s();

	free_res(x);
	x->have_res = fq_query_eval_all(x->q, x->res) == 0;
	x->eval_seconds = mono_s() - t0;
}

void fq_exporter_poll(struct fq_exporter *x, uint64_t now_sec, const struct fq_flow_rec *recs,
		      long n, const struct fq_totals *t, const struct fq_proto_ctr *proto)
{
	double t0 = mono_s();

	pthread_mutex_lock(&x->mu);
	fq_query_advance(x->q, now_sec);
	memset(x->size_live, 0, sizeof(x->size_live));
	memset(x->iat_live, 0, sizeof(x->iat_live));
	x->bytes_live = x->iat_ns_live = 0;
	for (long i = 0; i < n; i++) {
		flow_delta(x, &recs[i], false);
		hist_add(&recs[i].val, x->size_live, x->iat_live, &x->bytes_live, &x->iat_ns_live);
	}
	fq_query_poll_done(x->q);
	if (t)
		x->t = *t;
	if (proto) {
		memcpy(x->proto, proto, sizeof(x->proto));
		x->have_proto = true;
	}
	x->flows_live = n;
	x->polls++;
	evaluate(x);
	__atomic_add_fetch(&x->version, 1, __ATOMIC_RELEASE);
	x->poll_seconds = mono_s() - t0;
	pthread_mutex_unlock(&x->mu);
}

/* ---- /metrics ------------------------------------------------------------ */

/* label values: backslash, quote and newline escaped (format 0.0.4) */
static void lv(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f), fputc(*s, f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void ctr1(FILE *f, struct fq_exporter *x, const char *name, const char *help, uint64_t v)
{
	head(f, name, "counter", help);
	fprintf(f, "%s{iface=\"", name);
	lv(f, x->ifname);
	fprintf(f, "\"} %llu\n", (unsigned long long)v);
}

static void gauge1(FILE *f, struct fq_exporter *x, const char *name, const char *help, double v)
{
	head(f, name, "gauge", help);
	fprintf(f, "%s{iface=\"", name);
	lv(f, x->ifname);
	fprintf(f, "\"} %.9g\n", v);
}

static void ctr_dir(FILE *f, struct fq_exporter *x, const char *name, const char *help,
		    const __u64 v[2])
{
	head(f, name, "counter", help);
	for (int d = 0; d < 2; d++) {
		fprintf(f, "%s{iface=\"", name);
		lv(f, x->ifname);
		fprintf(f, "\",direction=\"%s\"} %llu\n", d ? "tx" : "rx", (unsigned long long)v[d]);
	}
}

static const char *ipproto_name(int p, char *buf, size_t len)
{
	return fq_ipproto_name(p, buf, len);
}

/* one sample per class of the running classifier's model */
static void per_class(FILE *f, struct fq_exporter *x, const char *name, const char *type,
		      const char *help, const struct fq_clf_snap *s, const uint64_t *v)
{
	head(f, name, type, help);
	for (int i = 0; i < s->nclasses; i++) {
		fprintf(f, "%s{iface=\"", name);
		lv(f, x->ifname);
		fprintf(f, "\",class=\"");
		lv(f, s->class_names[i]);
		fprintf(f, "\"} %llu\n", (unsigned long long)v[i]);
	}
}

/* The classifier of attach --model (classify.h), when one runs: a copy of
 * its counters, so the aggregator is held only for the copy. */
static void render_classes(struct fq_exporter *x, FILE *f)
{
	struct fq_clf_snap *s = fq_clf_published_snap(false, 0);

	if (!s)
		return;
	per_class(f, x, "flowqoe_class_records_total", "counter",
		  "Window records classified into each class of the model.", s, s->records);
	per_class(f, x, "flowqoe_class_conversations", "gauge",
		  "Open conversations whose latest window record is of the class.", s, s->convs);
	per_class(f, x, "flowqoe_class_conversations_closed_total", "counter",
		  "Conversations closed after the conversation timeout, by the class of their last record.",
		  s, s->closed_convs);
	ctr1(f, x, "flowqoe_classifier_input_records_total", "Window records handed to the classifier.",
	     s->submitted);
	ctr1(f, x, "flowqoe_classifier_dropped_records_total",
	     "Window records dropped: a classifier queue was full (back-pressure) or memory ran out.",
	     s->dropped);
	gauge1(f, x, "flowqoe_classifier_workers", "Classifier threads.", s->workers);
	fq_clf_snap_free(s);
}

static void render(struct fq_exporter *x, FILE *f)
{
	const struct fq_totals *t = &x->t;
	char buf[64];
	uint64_t cum;

	ctr_dir(f, x, "flowqoe_packets_total", "Packets seen by the hook (rx: XDP/tc ingress, tx: tc egress).",
		t->packets);
	ctr_dir(f, x, "flowqoe_bytes_total", "Frame bytes seen by the hook.", t->bytes);
	ctr_dir(f, x, "flowqoe_ip_bytes_total", "IP-layer bytes of IP packets.", t->ip_bytes);
	ctr1(f, x, "flowqoe_ipv4_packets_total", "IPv4 packets.", t->ipv4);
	ctr1(f, x, "flowqoe_ipv6_packets_total", "IPv6 packets.", t->ipv6);
	ctr1(f, x, "flowqoe_non_ip_packets_total", "Frames that are neither IPv4 nor IPv6.", t->non_ip);
	ctr1(f, x, "flowqoe_parse_errors_total", "Truncated or malformed headers.", t->parse_errors);
	head(f, "flowqoe_fragments_total", "counter", "IP fragments by kind.");
	{
		const char *k[3] = { "first", "later", "orphan" };
		uint64_t v[3] = { t->frag_first, t->frag_later, t->frag_orphan };

		for (int i = 0; i < 3; i++) {
			fprintf(f, "flowqoe_fragments_total{iface=\"");
			lv(f, x->ifname);
			fprintf(f, "\",kind=\"%s\"} %llu\n", k[i], (unsigned long long)v[i]);
		}
	}
	ctr1(f, x, "flowqoe_flows_created_total", "Flows created in the flow table.", t->new_flows);
	ctr1(f, x, "flowqoe_flow_table_full_total", "Flows the full table refused, each counted once.",
	     t->flow_full);
	ctr1(f, x, "flowqoe_untracked_packets_total", "Packets of flows the full table could not take.",
	     t->untracked);
	ctr1(f, x, "flowqoe_flows_ended_total", "Flows expired and removed from the table.", x->flows_ended);
	gauge1(f, x, "flowqoe_flows_tracked", "Flows in the flow table at the last poll.", (double)x->flows_live);
	ctr1(f, x, "flowqoe_polls_total", "Polls of the flow table.", x->polls);
	gauge1(f, x, "flowqoe_poll_duration_seconds",
	       "Time the exporter spent on the last poll (deltas, windows, queries).", x->poll_seconds);
	gauge1(f, x, "flowqoe_query_eval_duration_seconds", "Time to evaluate the six standing queries.",
	       x->eval_seconds);
	gauge1(f, x, "flowqoe_metrics_render_duration_seconds", "Time to render the previous /metrics.",
	       x->render_seconds);

	if (x->have_proto) {
		const char *names[2] = { "flowqoe_ip_protocol_packets_total", "flowqoe_ip_protocol_bytes_total" };
		const char *help[2] = { "Packets by IP protocol and direction.",
					"IP-layer bytes by IP protocol and direction." };

		for (int m = 0; m < 2; m++) {
			head(f, names[m], "counter", help[m]);
			for (int p = 0; p < 256; p++) {
				const struct fq_proto_ctr *c = &x->proto[p];

				if (!c->packets[0] && !c->packets[1])
					continue;
				for (int d = 0; d < 2; d++) {
					fprintf(f, "%s{iface=\"", names[m]);
					lv(f, x->ifname);
					fprintf(f, "\",protocol=\"");
					lv(f, ipproto_name(p, buf, sizeof(buf)));
					fprintf(f, "\",direction=\"%s\"} %llu\n", d ? "tx" : "rx",
						(unsigned long long)(m ? c->bytes[d] : c->packets[d]));
				}
			}
		}
	}
	for (int m = 0; m < 2; m++) {
		const char *name = m ? "flowqoe_app_bytes_total" : "flowqoe_app_packets_total";

		head(f, name, "counter", m ? "IP-layer bytes of tracked flows by application protocol."
					   : "Packets of tracked flows by application protocol.");
		for (size_t i = 0; i < x->napp; i++) {
			fprintf(f, "%s{iface=\"", name);
			lv(f, x->ifname);
			fprintf(f, "\",app=\"");
			lv(f, fq_appproto_name(x->app[i].id, buf, sizeof(buf)));
			fprintf(f, "\"} %llu\n", (unsigned long long)(m ? x->app[i].bytes : x->app[i].pkts));
		}
	}

	/* log2 bins -> cumulative Prometheus buckets (bin i holds v with
	 * floor(log2 v) == i: sizes up to 2^(i+1) - 1 bytes, IATs below
	 * 2^(i+1) us) */
	head(f, "flowqoe_packet_size_bytes", "histogram", "IP-layer packet sizes of tracked flows.");
	cum = 0;
	for (int i = 0; i < FQ_SIZE_BINS; i++) {
		cum += x->size_end[i] + x->size_live[i];
		fprintf(f, "flowqoe_packet_size_bytes_bucket{iface=\"");
		lv(f, x->ifname);
		if (i == FQ_SIZE_BINS - 1)
			fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		else
			fprintf(f, "\",le=\"%llu\"} %llu\n", (1ULL << (i + 1)) - 1, (unsigned long long)cum);
	}
	fprintf(f, "flowqoe_packet_size_bytes_sum{iface=\"");
	lv(f, x->ifname);
	fprintf(f, "\"} %llu\nflowqoe_packet_size_bytes_count{iface=\"", (unsigned long long)(x->bytes_end + x->bytes_live));
	lv(f, x->ifname);
	fprintf(f, "\"} %llu\n", (unsigned long long)cum);
	head(f, "flowqoe_packet_iat_seconds", "histogram",
	     "Inter-arrival times within each direction of tracked flows.");
	cum = 0;
	for (int i = 0; i < FQ_IAT_BINS; i++) {
		cum += x->iat_end[i] + x->iat_live[i];
		fprintf(f, "flowqoe_packet_iat_seconds_bucket{iface=\"");
		lv(f, x->ifname);
		if (i == FQ_IAT_BINS - 1)
			fprintf(f, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		else
			fprintf(f, "\",le=\"%.6f\"} %llu\n", (double)(1ULL << (i + 1)) * 1e-6,
				(unsigned long long)cum);
	}
	fprintf(f, "flowqoe_packet_iat_seconds_sum{iface=\"");
	lv(f, x->ifname);
	fprintf(f, "\"} %.9f\nflowqoe_packet_iat_seconds_count{iface=\"", (x->iat_ns_end + x->iat_ns_live) / 1e9);
	lv(f, x->ifname);
	fprintf(f, "\"} %llu\n", (unsigned long long)cum);

	/* the standing queries */
	head(f, "flowqoe_query_param", "gauge", "Current query parameters (H percent, k, X sigmas, T seconds).");
	fprintf(f, "flowqoe_query_param{iface=\"");
	lv(f, x->ifname);
	fprintf(f, "\",name=\"H\"} %.9g\n", x->q->p.H);
	fprintf(f, "flowqoe_query_param{iface=\"");
	lv(f, x->ifname);
	fprintf(f, "\",name=\"k\"} %u\n", x->q->p.k);
	fprintf(f, "flowqoe_query_param{iface=\"");
	lv(f, x->ifname);
	fprintf(f, "\",name=\"X\"} %.9g\n", x->q->p.X);
	fprintf(f, "flowqoe_query_param{iface=\"");
	lv(f, x->ifname);
	fprintf(f, "\",name=\"T\"} %u\n", x->q->p.T);
	if (x->have_res) {
		static const char *sname[4] = { "flowqoe_query_window_bytes", "flowqoe_query_window_keys",
						"flowqoe_query_results", "flowqoe_query_result_bytes" };
		static const char *shelp[4] = {
			"Bytes of the interface in the query window.",
			"Keys with traffic in the query window.",
			"Keys each standing query returns (all of them, not only those exported).",
			"Bytes in the window of each key a standing query returns (first " "50" " keys).",
		};

		for (int m = 0; m < 4; m++) {
			head(f, sname[m], "gauge", shelp[m]);
			for (int i = 0; i < 6; i++) {
				const struct fq_qresult *r = &x->res[i];

				if (m < 2 && i % 3)
					continue; /* once per "by" */
				if (m < 3) {
					fprintf(f, "%s{iface=\"", sname[m]);
					lv(f, x->ifname);
					fprintf(f, "\",by=\"%s\"", fq_qby_str(r->by));
					if (m == 2)
						fprintf(f, ",query=\"%s\"", fq_qkind_str(r->kind));
					fprintf(f, "} %llu\n", (unsigned long long)(m == 0 ? r->total_bytes :
										    m == 1 ? r->nkeys : r->n));
					continue;
				}
				for (size_t j = 0; j < r->n && j < FQ_METRICS_MAX_ROWS; j++) {
					fprintf(f, "%s{iface=\"", sname[m]);
					lv(f, x->ifname);
					fprintf(f, "\",by=\"%s\",query=\"%s\",key=\"", fq_qby_str(r->by),
						fq_qkind_str(r->kind));
					lv(f, fq_qkey_str(&r->rows[j].key, buf, sizeof(buf)));
					fprintf(f, "\",rank=\"%zu\"} %llu\n", j + 1,
						(unsigned long long)r->rows[j].bytes);
				}
			}
		}
	}
	{
		struct fq_qstore_stats s[2];

		fq_qstore_stats(x->q->by[0], &s[0]);
		fq_qstore_stats(x->q->by[1], &s[1]);
		head(f, "flowqoe_query_store_bytes", "gauge", "Memory of the window store.");
		for (int b = 0; b < 2; b++) {
			fprintf(f, "flowqoe_query_store_bytes{iface=\"");
			lv(f, x->ifname);
			fprintf(f, "\",by=\"%s\"} %zu\n", fq_qby_str(b), s[b].mem_bytes);
		}
		head(f, "flowqoe_query_dropped_deltas_total", "counter",
		     "Deltas the window store could not keep (memory caps).");
		for (int b = 0; b < 2; b++) {
			fprintf(f, "flowqoe_query_dropped_deltas_total{iface=\"");
			lv(f, x->ifname);
			fprintf(f, "\",by=\"%s\"} %llu\n", fq_qby_str(b), (unsigned long long)s[b].dropped_deltas);
		}
		head(f, "flowqoe_query_late_deltas_total", "counter",
		     "Deltas older than the window store's ring when they came (in no window).");
		for (int b = 0; b < 2; b++) {
			fprintf(f, "flowqoe_query_late_deltas_total{iface=\"");
			lv(f, x->ifname);
			fprintf(f, "\",by=\"%s\"} %llu\n", fq_qby_str(b), (unsigned long long)s[b].late_deltas);
		}
	}
	render_classes(x, f);
	ctr1(f, x, "flowqoe_http_requests_total", "HTTP requests served.",
	     __atomic_load_n(&x->http_requests, __ATOMIC_RELAXED));
	ctr1(f, x, "flowqoe_http_errors_total", "HTTP requests answered with an error.",
	     __atomic_load_n(&x->http_errors, __ATOMIC_RELAXED));
}

static char *render_locked(struct fq_exporter *x, size_t *len)
{
	double t0 = mono_s();
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	render(x, f);
	fclose(f);
	x->render_seconds = mono_s() - t0;
	return buf;
}

char *fq_exporter_metrics(struct fq_exporter *x, size_t *len)
{
	char *s;

	pthread_mutex_lock(&x->mu);
	s = render_locked(x, len);
	pthread_mutex_unlock(&x->mu);
	return s;
}

/* ---- HTTP ------------------------------------------------------------------ */

struct req {
	char *body;
	size_t len;
	bool too_big;
};

static char *json_str(json_t *o, size_t *len)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s) {
		size_t n = strlen(s);

		s = realloc(s, n + 2);
		s[n] = '\n';
		s[n + 1] = 0;
		*len = n + 1;
	}
	return s;
}

static char *err_body(const char *fmt, const char *arg, size_t *len)
{
	char msg[256];

	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	return json_str(json_pack("{s:s}", "error", msg), len);
}

static int send_body(struct MHD_Connection *c, int code, const char *type, char *body, size_t len,
		     bool copy)
{
	struct MHD_Response *r;
	int ret;

	if (!body) {
		static const char oom[] = "{\"error\":\"out of memory\"}\n";

		body = (char *)oom;
		len = sizeof(oom) - 1;
		code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		copy = true;
	}
	r = MHD_create_response_from_buffer(len, body, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_MUST_FREE);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static int cache_get(struct fq_exporter *x, const char *key, int *code, char **body, size_t *len)
{
	for (int i = 0; i < FQ_HTTP_CACHE; i++) {
		struct fq_http_cache *e = &x->cache[i];

		if (e->body && e->version == __atomic_load_n(&x->version, __ATOMIC_ACQUIRE) &&
		    (e->clf_gen == FQ_HTTP_NO_CLF || e->clf_gen == fq_clf_published_gen()) &&
		    !strcmp(e->key, key)) {
			*body = malloc(e->len + 1);
			if (!*body)
				return 0;
			memcpy(*body, e->body, e->len + 1);
			*len = e->len;
			*code = e->code;
			return 1;
		}
	}
	return 0;
}

/* mu held (the body was computed at this version); takes cmu.  clf_gen:
 * fq_clf_published_gen() read before the body was computed, or
 * FQ_HTTP_NO_CLF for a body that does not show the classifier. */
static void cache_put(struct fq_exporter *x, const char *key, int code, const char *body, size_t len,
		      uint64_t clf_gen)
{
	struct fq_http_cache *e;

	if (strlen(key) >= sizeof(((struct fq_http_cache *)0)->key) || !body)
		return;
	pthread_mutex_lock(&x->cmu);
	e = &x->cache[x->cache_next++ % FQ_HTTP_CACHE];
	free(e->body);
	e->body = malloc(len + 1);
	if (!e->body) {
		pthread_mutex_unlock(&x->cmu);
		return;
	}
	memcpy(e->body, body, len + 1);
	e->len = len;
	e->code = code;
	e->version = x->version;
	e->clf_gen = clf_gen;
	snprintf(e->key, sizeof(e->key), "%s", key);
	pthread_mutex_unlock(&x->cmu);
}

/* cache key of a query: the arguments that matter in a fixed order; ""
 * when aliases are used (not cached) */
static void query_key(struct MHD_Connection *c, char *key, size_t size)
{
	static const char *q[5] = { "by", "top", "above_percent", "above_sigma", "window" };
	size_t o = 0;

	o += snprintf(key + o, size - o, "q");
	for (int i = 0; i < 5; i++) {
		const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, q[i]);

		o += snprintf(key + o, size - o, "|%.30s", v ? v : "-");
		if (o >= size)
			o = size - 1;
	}
	if (MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "percent") ||
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sigma") ||
	    MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k"))
		key[0] = 0;
}

static int parse_num(const char *s, double *v)
{
	return !s || fq_parse_double(s, v) || !isfinite(*v) ? -1 : 0;
}

/* /api/v1/query: lock held */
static char *api_query(struct fq_exporter *x, struct MHD_Connection *c, int *code, size_t *len)
{
	const char *by_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "by");
	const char *names[3] = { "above_percent", "top", "above_sigma" };
	const char *alias[3] = { "percent", "k", "sigma" };
	const char *val[3], *win = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "window");
	enum fq_qby by;
	int kind = -1, nk = 0;
	double param = 0, w = 0;
	struct fq_qresult r;
	int err;

	*code = MHD_HTTP_BAD_REQUEST;
	if (!by_s || fq_qby_parse(by_s, &by))
		return err_body("by must be 'proto' or 'ip'%s", NULL, len);
	for (int i = 0; i < 3; i++) {
		val[i] = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, names[i]);
		if (!val[i])
			val[i] = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, alias[i]);
		if (val[i]) {
			kind = i;
			nk++;
		}
	}
	if (nk > 1)
		return err_body("give one of top, above_percent, above_sigma%s", NULL, len);
	if (win && (parse_num(win, &w) || w < 1 || w > x->q->span || w != floor(w))) {
		char b[64];

		snprintf(b, sizeof(b), "%u", x->q->span);
		return err_body("window must be a whole number of seconds in [1, %s]", b, len);
	}
	if (kind < 0) {
		/* the three standing queries of this "by" with the current parameters */
		json_t *arr = json_array();

		for (int i = 0; i < 3; i++) {
			double p = i == 0 ? x->q->p.H : i == 1 ? x->q->p.k : x->q->p.X;

			if (fq_qstore_eval(x->q->by[by], i, p, (unsigned)w, &r) == 0) {
				json_t *o;

				r.by = by;
				o = fq_qresult_json(&r, x->epoch_off_s);
				json_object_set_new(o, "iface", json_string(x->ifname));
				json_array_append_new(arr, o);
				fq_qresult_free(&r);
			}
		}
		*code = MHD_HTTP_OK;
		return json_str(arr, len);
	}
	if (parse_num(val[kind], &param))
		return err_body("%s must be a number", names[kind], len);
	if (kind == FQ_Q_TOP && (param < 0 || param > 1000000 || param != floor(param)))
		return err_body("top must be a whole number in [0, 1000000]%s", NULL, len);
	if (kind == FQ_Q_PERCENT && (param < 0 || param > 100))
		return err_body("above_percent must be in [0, 100]%s", NULL, len);
	if (kind == FQ_Q_SIGMA && (param < 0 || param > 1e6))
		return err_body("above_sigma must be in [0, 1e6]%s", NULL, len);
	err = fq_qstore_eval(x->q->by[by], kind, param, (unsigned)w, &r);
	if (err) {
		*code = err == -ENOMEM ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_BAD_REQUEST;
		return err_body("cannot evaluate: %s", strerror(-err), len);
	}
	r.by = by;
	*code = MHD_HTTP_OK;
	{
		json_t *o = fq_qresult_json(&r, x->epoch_off_s);
		char *s;

		json_object_set_new(o, "iface", json_string(x->ifname));
		s = json_str(o, len);

		fq_qresult_free(&r);
		return s;
	}
}

static json_t *params_json(struct fq_exporter *x)
{
	return json_pack("{s:f,s:i,s:f,s:i,s:i}", "H", x->q->p.H, "k", (int)x->q->p.k, "X", x->q->p.X,
			 "T", (int)x->q->p.T, "span", (int)x->q->span);
}

/* PUT/POST /api/v1/params: lock held */
static char *do_params_set(struct fq_exporter *x, const struct req *rq, int *code, size_t *len)
{
	struct fq_qparams p = x->q->p;
	json_error_t je;
	json_t *o, *v;
	const char *k;
	char why[128];

	*code = MHD_HTTP_BAD_REQUEST;
	if (!rq->body || !rq->len)
		return err_body("a JSON object with any of H, k, X, T is required%s", NULL, len);
	o = json_loadb(rq->body, rq->len, JSON_REJECT_DUPLICATES, &je);
	if (!o)
		return err_body("invalid JSON: %s", je.text, len);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_body("a JSON object with any of H, k, X, T is required%s", NULL, len);
	}
	json_object_foreach(o, k, v) {
		double d;

		if (!json_is_number(v)) {
			json_decref(o);
			return err_body("%s must be a number", k, len);
		}
		d = json_number_value(v);
		if (!strcmp(k, "H"))
			p.H = d;
		else if (!strcmp(k, "X"))
			p.X = d;
		else if (!strcmp(k, "k") || !strcmp(k, "T")) {
			if (d < 0 || d > 4e9 || d != floor(d)) {
				json_decref(o);
				return err_body("%s must be a whole number", k, len);
			}
			if (k[0] == 'k')
				p.k = (unsigned)d;
			else
				p.T = (unsigned)d;
		} else {
			json_decref(o);
			return err_body("unknown parameter '%s' (H, k, X, T)", k, len);
		}
	}
	json_decref(o);
	if (fq_qparams_check(&p, x->q->span, why, sizeof(why)))
		return err_body("%s", why, len);
	fq_query_set_params(x->q, &p);
	evaluate(x); /* the standing results follow at once */
	__atomic_add_fetch(&x->version, 1, __ATOMIC_RELEASE);
	fq_info("%s: query parameters H=%g k=%u X=%g T=%u", x->ifname, p.H, p.k, p.X, p.T);
	*code = MHD_HTTP_OK;
	return json_str(params_json(x), len);
}

static int cmp_flow_bytes(const void *a, const void *b, void *arg)
{
	const struct fq_flowtab *t = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	uint64_t bx = t->vals[i].dir[0].bytes + t->vals[i].dir[1].bytes;
	uint64_t by = t->vals[j].dir[0].bytes + t->vals[j].dir[1].bytes;

	if (bx != by)
		return bx < by ? 1 : -1;
	return memcmp(&t->keys[i], &t->keys[j], sizeof(t->keys[i]));
}

/* /api/v1/flows: reads the map itself, without the lock (map reads are
 * syscalls, safe from any thread) */
static char *api_flows(struct fq_exporter *x, struct MHD_Connection *c, int *code, size_t *len)
{
	const char *ls = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	double lim = 1000;
	struct fq_flowtab tab;
	uint32_t *idx;
	json_t *o, *arr;
	long n;

	*code = MHD_HTTP_BAD_REQUEST;
	if (ls && (parse_num(ls, &lim) || lim < 0 || lim > 10000000 || lim != floor(lim)))
		return err_body("limit must be a whole number%s", NULL, len);
	if (x->flows_fd < 0) {
		*code = MHD_HTTP_SERVICE_UNAVAILABLE;
		return err_body("no flow table%s", NULL, len);
	}
	n = fq_flowtab_read_fd(&tab, x->flows_fd);
	idx = n < 0 ? NULL : malloc((n ? n : 1) * sizeof(*idx));
	if (!idx) {
		fq_flowtab_free(&tab);
		*code = MHD_HTTP_INTERNAL_SERVER_ERROR;
		return err_body("reading the flow table: %s", strerror(n < 0 ? (int)-n : ENOMEM), len);
	}
	for (long i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_flow_bytes, &tab);
	arr = json_array();
	for (long i = 0; i < n && i < (long)lim; i++)
		json_array_append_new(arr, fq_flow_json_kv(&tab.keys[idx[i]], &tab.vals[idx[i]],
							   x->epoch_off_s * 1000000000LL, true));
	free(idx);
	fq_flowtab_free(&tab);
	o = json_pack("{s:s,s:I,s:o}", "iface", x->ifname, "flows_total", (json_int_t)n, "flows", arr);
	*code = MHD_HTTP_OK;
	return json_str(o, len);
}

/* /api/v1/classes: without the lock (the snapshot takes the classifier's) */
static char *api_classes(struct fq_exporter *x, int *code, size_t *len)
{
	struct fq_clf_snap *s = fq_clf_published_snap(true, x->epoch_off_ns);
	json_t *o, *cls;

	if (!s) {
		*code = fq_clf_is_published() ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_SERVICE_UNAVAILABLE;
		return err_body("no classifier running (attach --model FILE)%s", NULL, len);
	}
	cls = json_array();
	for (int i = 0; i < s->nclasses; i++)
		json_array_append_new(cls, json_pack("{s:s,s:I,s:I,s:I}", "class", s->class_names[i],
						     "records", (json_int_t)s->records[i],
						     "conversations", (json_int_t)s->convs[i],
						     "conversations_closed", (json_int_t)s->closed_convs[i]));
	o = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:i,s:o,s:o}", "iface", x->ifname,
		      "records", (json_int_t)s->submitted, "classified", (json_int_t)s->classified,
		      "dropped", (json_int_t)s->dropped, "open", (json_int_t)s->open,
		      "closed", (json_int_t)s->closed, "workers", s->workers, "classes", cls,
		      "conversations", s->table ? json_incref(s->table) : json_array());
	fq_clf_snap_free(s);
	*code = MHD_HTTP_OK;
	return json_str(o, len);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct fq_exporter *x = cls;
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool put = !strcmp(method, "PUT") || !strcmp(method, "POST");
	struct req *rq = *con_cls;
	const char *type = "application/json";
	char *body = NULL, key[192];
	size_t len = 0;
	int code = MHD_HTTP_OK;
	bool copy = false;

	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		return MHD_YES;
	}
	if (*upload_size) {
		if (rq->len + *upload_size > BODY_MAX) {
			rq->too_big = true;
		} else {
			char *nb = realloc(rq->body, rq->len + *upload_size + 1);

			if (!nb)
				return MHD_NO;
			rq->body = nb;
			memcpy(rq->body + rq->len, upload, *upload_size);
			rq->len += *upload_size;
			rq->body[rq->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}

	__atomic_add_fetch(&x->http_requests, 1, __ATOMIC_RELAXED);
	key[0] = 0;
	if (get && !rq->too_big) {
		if (!strcmp(url, "/metrics"))
			snprintf(key, sizeof(key), "/metrics");
		else if (!strcmp(url, "/api/v1/query"))
			query_key(c, key, sizeof(key));
	}
	if (key[0]) {
		/* fast path: no wait for a poll in progress */
		bool hit;

		pthread_mutex_lock(&x->cmu);
		hit = cache_get(x, key, &code, &body, &len);
		pthread_mutex_unlock(&x->cmu);
		if (hit) {
			if (code >= 400)
				__atomic_add_fetch(&x->http_errors, 1, __ATOMIC_RELAXED);
			if (key[0] == '/')
				type = "text/plain; version=0.0.4; charset=utf-8";
			return send_body(c, code, type, body, len, false);
		}
	}

	pthread_mutex_lock(&x->mu);
	if (rq->too_big) {
		code = MHD_HTTP_CONTENT_TOO_LARGE;
		body = err_body("request body larger than 64 KiB%s", NULL, &len);
	} else if (!strcmp(url, "/metrics")) {
		if (!get) {
			code = MHD_HTTP_METHOD_NOT_ALLOWED;
			body = err_body("%s only", "GET", &len);
		} else {
			uint64_t gen = fq_clf_published_gen();

			type = "text/plain; version=0.0.4; charset=utf-8";
			body = render_locked(x, &len);
			cache_put(x, "/metrics", MHD_HTTP_OK, body, len, gen);
		}
	} else if (!strcmp(url, "/api/v1/query")) {
		if (!get) {
			code = MHD_HTTP_METHOD_NOT_ALLOWED;
			body = err_body("%s only", "GET", &len);
			goto done;
		}
		body = api_query(x, c, &code, &len);
		if (key[0])
			cache_put(x, key, code, body, len, FQ_HTTP_NO_CLF);
	} else if (!strcmp(url, "/api/v1/params")) {
		if (get)
			body = json_str(params_json(x), &len);
		else if (put)
			body = do_params_set(x, rq, &code, &len);
		else {
			code = MHD_HTTP_METHOD_NOT_ALLOWED;
			body = err_body("GET, PUT or POST%s", NULL, &len);
		}
	} else if (!strcmp(url, "/api/v1/classes")) {
		if (!get) {
			code = MHD_HTTP_METHOD_NOT_ALLOWED;
			body = err_body("%s only", "GET", &len);
		} else {
			pthread_mutex_unlock(&x->mu);
			body = api_classes(x, &code, &len);
			pthread_mutex_lock(&x->mu);
		}
	} else if (!strcmp(url, "/api/v1/flows")) {
		if (!get) {
			code = MHD_HTTP_METHOD_NOT_ALLOWED;
			body = err_body("%s only", "GET", &len);
		} else {
			pthread_mutex_unlock(&x->mu);
			body = api_flows(x, c, &code, &len);
			pthread_mutex_lock(&x->mu);
		}
	} else if (!strcmp(url, "/")) {
		body = json_str(json_pack("{s:s,s:[s,s,s,s,s]}", "iface", x->ifname, "endpoints", "/metrics",
					  "/api/v1/query", "/api/v1/flows", "/api/v1/params", "/api/v1/classes"),
				&len);
	} else {
		code = MHD_HTTP_NOT_FOUND;
		body = err_body("no such endpoint: %s", url, &len);
	}
done:
	if (code >= 400)
		__atomic_add_fetch(&x->http_errors, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&x->mu);
	return send_body(c, code, type, body, len, copy);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

int fq_exporter_listen(struct fq_exporter *x, const char *addr)
{
	struct sockaddr_storage ss = {};
	char host[128];
	const char *colon = strrchr(addr, ':');
	uint64_t port;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;

	if (!colon || (size_t)(colon - addr) >= sizeof(host) || fq_parse_u64(colon + 1, &port) ||
	    port > 65535)
		return -EINVAL;
	memcpy(host, addr, colon - addr);
	host[colon - addr] = 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (void *)&ss;

		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return -EINVAL;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		if (!host[0])
			strcpy(host, "0.0.0.0");
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return -EINVAL;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	}
	d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handler, x,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_THREAD_POOL_SIZE, (unsigned)2,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)1024,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
			     MHD_OPTION_NOTIFY_COMPLETED, completed, x,
			     MHD_OPTION_END);
	if (!d)
		return -EADDRINUSE;
	x->daemon = d;
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	x->port = di ? di->port : (unsigned)port;
	return 0;
}

void fq_exporter_stop(struct fq_exporter *x)
{
	if (x->daemon) {
		MHD_stop_daemon(x->daemon);
		x->daemon = NULL;
	}
}

/* ---- attach hook --------------------------------------------------------------
 * Option values 1064..1079 (attach.h: 1000 + 16 * k ranges). */
enum {
	OPT_LISTEN = 1064, OPT_SPAN, OPT_MAXKEYS, OPT_MAXCELLS, OPT_H, OPT_K, OPT_X, OPT_T,
};

static const struct option http_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "query-span", required_argument, NULL, OPT_SPAN },
	{ "query-max-keys", required_argument, NULL, OPT_MAXKEYS },
	{ "query-max-cells", required_argument, NULL, OPT_MAXCELLS },
	{ "query-percent", required_argument, NULL, OPT_H },
	{ "query-top", required_argument, NULL, OPT_K },
	{ "query-sigma", required_argument, NULL, OPT_X },
	{ "query-window", required_argument, NULL, OPT_T },
	{ NULL, 0, NULL, 0 },
};

static struct {
	char listen[160];
	bool off;
	uint64_t span, max_keys, max_cells;
	struct fq_qparams p;
	struct fq_exporter x;
	bool up;
	int proto_fd;
	void (*prev_poll)(struct fq_attach_ctx *, const struct fq_flow_rec *, long, const struct fq_totals *);
	void (*prev_end)(struct fq_attach_ctx *, const struct fq_flow_rec *, enum fq_end_reason);
} hs = {
	.listen = FQ_HTTP_DEFAULT_LISTEN, .span = 3600, .max_keys = 1u << 20, .max_cells = 16u << 20,
	.p = FQ_QPARAMS_DEFAULT, .proto_fd = -1,
};

static int http_opt(struct fq_attach_ctx *ac, int val, const char *arg)
{
	double d;

	switch (val) {
	case OPT_LISTEN:
		if (!strcmp(arg, "none")) {
			hs.off = true;
			return 0;
		}
		if (strlen(arg) >= sizeof(hs.listen) || !strrchr(arg, ':')) {
			fq_err("--listen: '%s' is not ADDR:PORT, [ADDR6]:PORT or none", arg);
			return -1;
		}
		snprintf(hs.listen, sizeof(hs.listen), "%s", arg);
		hs.off = false;
		return 0;
	case OPT_SPAN:
		if (fq_parse_u64(arg, &hs.span) || hs.span < 1 || hs.span > FQ_QUERY_SPAN_MAX) {
			fq_err("--query-span: '%s' is not a number of seconds in [1, %d]", arg, FQ_QUERY_SPAN_MAX);
			return -1;
		}
		return 0;
	case OPT_MAXKEYS:
	case OPT_MAXCELLS: {
		uint64_t v;

		if (fq_parse_u64(arg, &v) || v < 1 || v > (1ULL << 30)) {
			fq_err("'%s' is not a count in [1, 2^30]", arg);
			return -1;
		}
		if (val == OPT_MAXKEYS)
			hs.max_keys = v;
		else
			hs.max_cells = v;
		return 0;
	}
	case OPT_H: case OPT_X:
		if (fq_parse_double(arg, &d)) {
			fq_err("'%s' is not a number", arg);
			return -1;
		}
		if (val == OPT_H)
			hs.p.H = d;
		else
			hs.p.X = d;
		return 0;
	case OPT_K: case OPT_T: {
		uint64_t v;

		if (fq_parse_u64(arg, &v) || v > 1000000) {
			fq_err("'%s' is not a whole number", arg);
			return -1;
		}
		if (val == OPT_K)
			hs.p.k = v;
		else
			hs.p.T = v;
		return 0;
	}
	}
	return -1;
}

static int http_parse_done(struct fq_attach_ctx *ac)
{
	char why[128];

	if (hs.p.T > hs.span)
		hs.span = hs.p.T;
	if (fq_qparams_check(&hs.p, hs.span, why, sizeof(why))) {
		fq_err("query parameters: %s", why);
		return -1;
	}
	return 0;
}

static void http_on_end(struct fq_attach_ctx *ac, const struct fq_flow_rec *r, enum fq_end_reason why)
{
	if (hs.up)
		fq_exporter_flow_end(&hs.x, r);
	if (hs.prev_end)
		hs.prev_end(ac, r, why);
}

static void http_on_poll(struct fq_attach_ctx *ac, const struct fq_flow_rec *recs, long n,
			 const struct fq_totals *t)
{
	if (hs.up) {
		int ncpu = libbpf_num_possible_cpus();
		struct fq_proto_ctr sum[256], *pc = NULL;
		bool have = false;

		if (hs.proto_fd >= 0 && ncpu > 0 && (pc = calloc(ncpu, sizeof(*pc)))) {
			memset(sum, 0, sizeof(sum));
			have = true;
			for (__u32 k = 0; k < 256 && have; k++) {
				if (bpf_map_lookup_elem(hs.proto_fd, &k, pc)) {
					have = false;
					break;
				}
				for (int c = 0; c < ncpu; c++)
					for (int d = 0; d < 2; d++) {
						sum[k].packets[d] += pc[c].packets[d];
						sum[k].bytes[d] += pc[c].bytes[d];
					}
			}
			free(pc);
		}
		fq_exporter_poll(&hs.x, fq_now_mono_ns() / 1000000000ULL, recs, n, t, have ? sum : NULL);
	}
	if (hs.prev_poll)
		hs.prev_poll(ac, recs, n, t);
}

static int http_start(struct fq_attach_ctx *ac)
{
	int err;

	err = fq_exporter_init(&hs.x, ac->ifname, hs.span, &hs.p, hs.max_keys, hs.max_cells);
	if (err) {
		fq_err("query engine: %s", strerror(-err));
		return -1;
	}
	hs.x.flows_fd = ac->flows_fd;
	hs.x.epoch_off_s = ac->epoch_off / 1000000000LL;
	hs.x.epoch_off_ns = ac->epoch_off;
	hs.proto_fd = ac->skel ? bpf_map__fd(ac->skel->maps.fq_proto) : -1;
	hs.prev_poll = ac->on_poll;
	hs.prev_end = ac->on_end;
	ac->on_poll = http_on_poll;
	ac->on_end = http_on_end;
	hs.up = true;
	if (hs.off)
		return 0;
	err = fq_exporter_listen(&hs.x, hs.listen);
	if (err) {
		fq_err("--listen %s: cannot listen there (%s); another exporter on the port? "
		       "choose one with --listen ADDR:PORT or --listen none", hs.listen,
		       err == -EINVAL ? "bad address" : "bind failed");
		return -1;
	}
	fq_info("%s: serving /metrics and /api/v1 on %s (port %u)", ac->ifname, hs.listen, hs.x.port);
	if (!ac->json && !ac->quiet)
		fprintf(stderr, "flowqoe: %s: metrics and query API on http://%s/\n", ac->ifname, hs.listen);
	return 0;
}

static void http_stop(struct fq_attach_ctx *ac)
{
	if (!hs.up)
		return;
	fq_exporter_stop(&hs.x);
	hs.up = false;
	fq_exporter_fini(&hs.x);
}

static struct fq_attach_hook http_hook = {
	.name = "http",
	.opts = http_opts,
	.usage =
		"HTTP exporter and query engine (see `flowqoe query --help`):\n"
		"  --listen ADDR:PORT   serve /metrics, /api/v1/{query,flows,params} (default\n"
		"                       " FQ_HTTP_DEFAULT_LISTEN "; [::1]:PORT for IPv6; 'none' disables)\n"
		"  --query-percent H    standing query: keys above H % of the bytes (default 10)\n"
		"  --query-top K        standing query: top K keys by bytes (default 10)\n"
		"  --query-sigma X      standing query: keys X sigmas above the mean (default 2)\n"
		"  --query-window T     window of the standing queries, seconds (default 60)\n"
		"  --query-span S       longest window the store keeps, seconds (default 3600)\n"
		"  --query-max-keys N   key cap per store (default 1048576)\n"
		"  --query-max-cells N  (key, second) cell cap per store, 16 B each (default 16777216)\n",
	.opt = http_opt,
	.parse_done = http_parse_done,
	.start = http_start,
	.stop = http_stop,
};

__attribute__((constructor)) static void http_register(void)
{
	fq_attach_register(&http_hook);
}
