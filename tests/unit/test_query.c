// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Query engine against a brute-force oracle: a generated packet stream is
 * fed to the engine; the oracle keeps every packet and, for each question,
 * sums the packets of the window per key from scratch and applies the
 * definitions of query.h (with its own sort).  Answers must be identical
 * (same keys, same order, same byte counts).
 */
#include <errno.h>
#include <math.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include "testlib.h"
#include "appproto.h"
#include "query.h"

struct pkt {
	uint64_t sec;
	struct fq_flow_key k;
	uint64_t bytes;
};

static struct pkt *pk;
static size_t npk, cappk;

struct okey {
	struct fq_qkey key;
	uint64_t bytes, pkts;
};

static int okey_cmp(const void *a, const void *b)
{
	const struct okey *x = a, *y = b;
	int c;

	if (x->bytes > y->bytes)
		return -1;
	if (x->bytes < y->bytes)
		return 1;
	c = memcmp(x->key.b, y->key.b, 16);
	return c ? c : x->key.kind - y->key.kind;
}

static void oadd(struct okey *o, size_t *n, const struct fq_qkey *k, uint64_t b)
{
	for (size_t i = 0; i < *n; i++)
		if (!memcmp(&o[i].key, k, sizeof(*k))) {
			o[i].bytes += b;
			o[i].pkts++;
			return;
		}
	o[*n].key = *k;
	o[*n].bytes = b;
	o[*n].pkts = 1;
	(*n)++;
}

/* the oracle: keys of the window [now - T + 1, now] */
static size_t oracle_keys(int by, uint64_t now, unsigned T, struct okey *o, uint64_t *total)
{
	size_t n = 0;

	*total = 0;
	for (size_t i = 0; i < npk; i++) {
		struct fq_qkey k = { 0 };

		if (pk[i].sec > now || pk[i].sec + T <= now)
			continue;
		*total += pk[i].bytes;
		if (by == FQ_BY_PROTO) {
			uint32_t id = fq_appproto_id(pk[i].k.proto, pk[i].k.port_lo, pk[i].k.port_hi);

			k.kind = FQ_QK_APP;
			k.b[0] = id >> 24, k.b[1] = id >> 16, k.b[2] = id >> 8, k.b[3] = id;
			oadd(o, &n, &k, pk[i].bytes);
		} else {
			k.kind = pk[i].k.family;
			memcpy(k.b, pk[i].k.addr_lo, 16);
			oadd(o, &n, &k, pk[i].bytes);
			if (memcmp(pk[i].k.addr_lo, pk[i].k.addr_hi, 16)) {
				memcpy(k.b, pk[i].k.addr_hi, 16);
				oadd(o, &n, &k, pk[i].bytes);
			}
		}
	}
	qsort(o, n, sizeof(*o), okey_cmp);
	return n;
}

static size_t oracle(int by, int kind, double param, uint64_t now, unsigned T, struct okey *o)
{
	uint64_t total;
	size_t n = oracle_keys(by, now, T, o, &total), m = 0;
	double mean = 0, var = 0;

	if (kind == FQ_Q_TOP)
		return (size_t)param < n ? (size_t)param : n;
	if (kind == FQ_Q_PERCENT) {
		for (size_t i = 0; i < n; i++)
			if ((long double)o[i].bytes * 100 > (long double)param * total)
				o[m++] = o[i];
		return m;
	}
	for (size_t i = 0; i < n; i++)
		mean += o[i].bytes;
	mean = n ? mean / n : 0;
	for (size_t i = 0; i < n; i++)
		var += (o[i].bytes - mean) * (o[i].bytes - mean);
	var = n ? var / n : 0;
	if (var <= 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (o[i].bytes > mean + param * sqrt(var))
			o[m++] = o[i];
	return m;
}

static struct okey *obuf;
static int nchecks;

/* compare one result with the oracle (frees the result) */
static bool same_res(const char *name, struct fq_qresult *r, int by, int kind, double param)
{
	size_t n = oracle(by, kind, param, r->now, r->window, obuf);

	nchecks++;
	if (r->n != n) {
		TL_FAIL(name, "%s %s %g T=%u now=%llu: %zu results, oracle %zu", by ? "ip" : "proto",
			fq_qkind_str(kind), param, r->window, (unsigned long long)r->now, r->n, n);
		fq_qresult_free(r);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if (memcmp(&r->rows[i].key, &obuf[i].key, sizeof(obuf[i].key)) ||
		    r->rows[i].bytes != obuf[i].bytes || r->rows[i].pkts != obuf[i].pkts) {
			char a[64], b[64];

			TL_FAIL(name, "%s %s %g T=%u: row %zu is %s %llu, oracle %s %llu",
				by ? "ip" : "proto", fq_qkind_str(kind), param, r->window, i,
				fq_qkey_str(&r->rows[i].key, a, sizeof(a)),
				(unsigned long long)r->rows[i].bytes,
				fq_qkey_str(&obuf[i].key, b, sizeof(b)), (unsigned long long)obuf[i].bytes);
			fq_qresult_free(r);
			return false;
		}
	fq_qresult_free(r);
	return true;
}

static bool same(const char *name, struct fq_qstore *st, int by, int kind, double param,
		 unsigned window, unsigned T)
{
	struct fq_qresult r;
	int err = fq_qstore_eval(st, kind, param, window, &r);

	if (err) {
		TL_FAIL(name, "eval failed: %d", err);
		return false;
	}
	return same_res(name, &r, by, kind, param);
}

/* the six standing queries, evaluated together */
static bool same_all(const char *name, struct fq_query *q)
{
	struct fq_qresult r[6];
	bool ok = true;

	if (fq_query_eval_all(q, r)) {
		TL_FAIL(name, "eval_all failed");
		return false;
	}
	for (int i = 0; i < 6; i++) {
		int kind = i % 3;

		ok &= TL_CHECK(name, (int)r[i].by == i / 3 && (int)r[i].kind == kind, "result %d mislabelled", i);
		ok &= same_res(name, &r[i], i / 3, kind, kind == 0 ? q->p.H : kind == 1 ? q->p.k : q->p.X);
	}
	return ok;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rnd(void) { return tl_xorshift(&rng); }

static void mkkey(struct fq_flow_key *k, int a, int b, uint8_t proto, uint16_t pa, uint16_t pb, int v6)
{
	memset(k, 0, sizeof(*k));
	k->family = v6 ? 6 : 4;
	k->proto = proto;
	if (v6) {
		k->addr_lo[0] = 0x20, k->addr_lo[1] = 0x01, k->addr_lo[15] = a;
		k->addr_hi[0] = 0x20, k->addr_hi[1] = 0x01, k->addr_hi[15] = b;
	} else {
		k->addr_lo[10] = k->addr_lo[11] = 0xff;
		k->addr_hi[10] = k->addr_hi[11] = 0xff;
		k->addr_lo[12] = 10, k->addr_lo[15] = a;
		k->addr_hi[12] = 10, k->addr_hi[15] = b;
	}
	if (memcmp(k->addr_lo, k->addr_hi, 16) > 0) {
		uint8_t t[16];

		memcpy(t, k->addr_lo, 16);
		memcpy(k->addr_lo, k->addr_hi, 16);
		memcpy(k->addr_hi, t, 16);
	}
	k->port_lo = pa;
	k->port_hi = pb;
}

static void push(uint64_t sec, const struct fq_flow_key *k, uint64_t bytes)
{
	if (npk == cappk) {
		cappk = cappk ? cappk * 2 : 4096;
		pk = realloc(pk, cappk * sizeof(*pk));
	}
	pk[npk++] = (struct pkt){ .sec = sec, .k = *k, .bytes = bytes };
}

static const double Hs[] = { 0, 0.5, 5, 12.5, 50, 99.9, 100 };
static const double Ks[] = { 0, 1, 3, 10, 1000 };
static const double Xs[] = { 0, 0.5, 1, 2, 3 };

/* every query kind and parameter, maintained window and ad-hoc windows */
static bool check_all(const char *name, struct fq_query *q, unsigned T)
{
	static const unsigned Ws[] = { 0, 1, 5, 30 };
	bool ok = same_all(name, q);

	for (int by = 0; by < 2; by++)
		for (size_t w = 0; w < sizeof(Ws) / sizeof(Ws[0]); w++) {
			if (Ws[w] > q->span)
				continue;
			for (size_t i = 0; i < sizeof(Hs) / sizeof(Hs[0]); i++)
				ok &= same(name, q->by[by], by, FQ_Q_PERCENT, Hs[i], Ws[w], T);
			for (size_t i = 0; i < sizeof(Ks) / sizeof(Ks[0]); i++)
				ok &= same(name, q->by[by], by, FQ_Q_TOP, Ks[i], Ws[w], T);
			for (size_t i = 0; i < sizeof(Xs) / sizeof(Xs[0]); i++)
				ok &= same(name, q->by[by], by, FQ_Q_SIGMA, Xs[i], Ws[w], T);
		}
	return ok;
}

static const uint16_t ports[] = { 80, 443, 53, 22, 5353, 40000, 123, 8080, 0, 9999 };

static void gen_packet(uint64_t sec, struct fq_flow_key *k, uint64_t *bytes)
{
	int a = rnd() % 40, b = rnd() % 40;
	uint8_t pr = (rnd() % 10) < 6 ? 6 : (rnd() % 4) ? 17 : 1;

	mkkey(k, a, b, pr, pr == 1 ? 0x800 : ports[rnd() % 10], pr == 1 ? 7 : 30000 + rnd() % 5,
	      rnd() % 5 == 0);
	/* few distinct sizes so that byte ties happen */
	*bytes = (rnd() % 2) ? 100 * (1 + rnd() % 4) : 40 + rnd() % 1460;
	(void)sec;
}

static void test_stream(void)
{
	const char *name = "query_stream_oracle";
	struct fq_qparams p = { .H = 10, .k = 5, .X = 1, .T = 10 };
	struct fq_query *q = fq_query_new(40, &p, 1 << 20, 1 << 24);
	bool ok = true;
	uint64_t sec = 1000;

	npk = 0;
	for (int step = 0; step < 120 && ok; step++) {
		/* bursts, silent seconds and long gaps */
		int np = step % 17 == 5 ? 0 : (int)(rnd() % 60);

		sec += step == 70 ? 100 : step % 13 == 0 ? 3 : 1;
		fq_query_advance(q, sec);
		for (int i = 0; i < np; i++) {
			struct fq_flow_key k;
			uint64_t b;
			uint64_t s = sec - (rnd() % 8 == 0 ? rnd() % 5 : 0); /* some late packets */

			gen_packet(s, &k, &b);
			push(s, &k, b);
			fq_query_feed(q, s, &k, b, 1);
		}
		if (step % 7 == 0) {
			p.T = 1 + rnd() % 40;
			p.H = Hs[rnd() % 7];
			p.k = (unsigned)Ks[rnd() % 5];
			p.X = Xs[rnd() % 5];
			fq_query_set_params(q, &p);
		}
		if (step % 3 == 0)
			ok &= check_all(name, q, p.T);
	}
	if (ok)
		printf("ok %s (%d answers equal the oracle)\n", name, nchecks), tl_passed++;
	fq_query_free(q);
}

/* flows seen through polls: cumulative counters turned into deltas */
static void test_flows(void)
{
	const char *name = "query_flow_deltas_oracle";
	struct fq_qparams p = { .H = 5, .k = 3, .X = 0.5, .T = 20 };
	struct fq_query *q = fq_query_new(60, &p, 1 << 20, 1 << 24);
	enum { NF = 30 };
	struct fq_flow_rec fl[NF];
	bool live[NF] = { 0 }, ok = true;
	uint64_t sec = 5000;

	npk = 0;
	memset(fl, 0, sizeof(fl));
	for (int step = 0; step < 80 && ok; step++) {
		sec++;
		fq_query_advance(q, sec);
		for (int f = 0; f < NF; f++) {
			if (!live[f]) {
				if (rnd() % 4)
					continue;
				gen_packet(sec, &fl[f].key, &(uint64_t){ 0 });
				memset(&fl[f].val, 0, sizeof(fl[f].val));
				live[f] = true;
			}
			int np = rnd() % 4;

			for (int i = 0; i < np; i++) {
				uint64_t b = 40 + rnd() % 1500;
				int d = rnd() % 2;

				fl[f].val.dir[d].bytes += b;
				fl[f].val.dir[d].packets++;
				fl[f].val.dir[d].last_ns = sec * 1000000000ULL + 1000 * i;
				fl[f].val.last_ns = fl[f].val.dir[d].last_ns;
				push(sec, &fl[f].key, b);
			}
		}
		/* some flows end (final delta through the end path), the rest polled */
		for (int f = 0; f < NF; f++)
			if (live[f] && rnd() % 6 == 0) {
				fq_query_flow(q, &fl[f], true, NULL, NULL);
				live[f] = false;
			}
		for (int f = 0; f < NF; f++)
			if (live[f])
				fq_query_flow(q, &fl[f], false, NULL, NULL);
		fq_query_poll_done(q);
		if (step % 4 == 0)
			ok &= check_all(name, q, p.T);
	}
	if (ok)
		TL_OK(name);
	fq_query_free(q);
}

static void test_edges(void)
{
	struct fq_qparams p = { .H = 10, .k = 5, .X = 1, .T = 10 };
	struct fq_query *q = fq_query_new(3600, &p, 1000, 100000);
	struct fq_flow_key k;
	struct fq_qresult r;
	bool ok = true;

	npk = 0;
	/* empty window: everything answers nothing, no division by zero */
	for (int kind = 0; kind < 3; kind++) {
		fq_qstore_eval(q->by[1], kind, kind == 1 ? 10 : 0, 0, &r);
		ok &= TL_CHECK("query_edge_empty", r.n == 0 && r.nkeys == 0 && r.mean == 0 && r.sigma == 0,
			       "kind %d: %zu rows", kind, r.n);
		fq_qresult_free(&r);
	}
	if (ok)
		TL_OK("query_edge_empty");

	/* one key: H=0 -> it, H=100 -> none (100 % is not above 100 %),
	 * top 5 -> it, sigma 0 -> none */
	mkkey(&k, 1, 1, 17, 53, 53, 0);
	push(100, &k, 500);
	fq_query_feed(q, 100, &k, 500, 1);
	ok = check_all("query_edge_one_key", q, p.T);
	fq_qstore_eval(q->by[1], FQ_Q_PERCENT, 0, 0, &r);
	ok &= TL_CHECK("query_edge_one_key", r.n == 1 && r.rows[0].bytes == 500, "H=0 gave %zu", r.n);
	fq_qresult_free(&r);
	fq_qstore_eval(q->by[1], FQ_Q_PERCENT, 100, 0, &r);
	ok &= TL_CHECK("query_edge_one_key", r.n == 0, "H=100 gave %zu", r.n);
	fq_qresult_free(&r);
	fq_qstore_eval(q->by[0], FQ_Q_SIGMA, 0, 0, &r);
	ok &= TL_CHECK("query_edge_one_key", r.n == 0, "sigma gave %zu", r.n);
	fq_qresult_free(&r);
	if (ok)
		TL_OK("query_edge_one_key");

	/* all equal: sigma = 0, nothing above any X, even X = 0 */
	for (int i = 2; i < 12; i++) {
		mkkey(&k, i, i, 6, 443, 50000, 0);
		push(101, &k, 700);
		fq_query_feed(q, 101, &k, 700, 1);
	}
	fq_query_advance(q, 110); /* the single key of second 100 left the 10 s window */
	ok = check_all("query_edge_all_equal", q, p.T);
	fq_qstore_eval(q->by[1], FQ_Q_SIGMA, 0, 0, &r);
	ok &= TL_CHECK("query_edge_all_equal", r.nkeys == 10 && r.sigma == 0 && r.n == 0,
		       "keys %zu sigma %g rows %zu", r.nkeys, r.sigma, r.n);
	fq_qresult_free(&r);
	/* k larger than the keys: all keys, ties by address ascending */
	fq_qstore_eval(q->by[1], FQ_Q_TOP, 1000, 0, &r);
	ok &= TL_CHECK("query_edge_all_equal", r.n == 10 && r.rows[0].key.b[15] == 2 &&
		       r.rows[9].key.b[15] == 11, "top gave %zu", r.n);
	fq_qresult_free(&r);
	/* invalid parameters are refused */
	ok &= TL_CHECK("query_edge_invalid", fq_qstore_eval(q->by[0], FQ_Q_PERCENT, 101, 0, &r) == -EINVAL &&
		       fq_qstore_eval(q->by[0], FQ_Q_SIGMA, NAN, 0, &r) == -EINVAL &&
		       fq_qstore_eval(q->by[0], FQ_Q_TOP, 1, 3601, &r) == -EINVAL, "accepted");
	p.T = 0;
	ok &= TL_CHECK("query_edge_invalid", fq_query_set_params(q, &p) == -EINVAL, "T=0 accepted");
	if (ok)
		TL_OK("query_edge_all_equal");
	fq_query_free(q);
}

/* the window slides: after T silent seconds nothing is left and keys are
 * freed once they leave the ring; memory caps count what they drop */
static void test_bounds(void)
{
	struct fq_qstore *st = fq_qstore_new(10, 5, 4, 6);
	struct fq_qstore_stats s;
	struct fq_qresult r;
	bool ok = true;

	for (int i = 0; i < 8; i++) {
		struct fq_qkey k = { .kind = FQ_QK_APP };

		k.b[3] = i;
		fq_qstore_add(st, 50 + i / 4, &k, 10, 1);
	}
	fq_qstore_stats(st, &s);
	ok &= TL_CHECK("query_bounds", s.keys == 4 && s.cells == 4 && s.dropped_deltas == 4 &&
		       s.dropped_bytes == 40, "keys %zu cells %zu dropped %llu", s.keys, s.cells,
		       (unsigned long long)s.dropped_deltas);
	fq_qstore_eval(st, FQ_Q_TOP, 10, 0, &r);
	ok &= TL_CHECK("query_bounds", !r.complete && r.n == 4, "complete %d n %zu", r.complete, r.n);
	fq_qresult_free(&r);
	fq_qstore_advance(st, 56);
	fq_qstore_eval(st, FQ_Q_TOP, 10, 0, &r);
	ok &= TL_CHECK("query_bounds", r.n == 0, "window not slid: %zu rows", r.n);
	fq_qresult_free(&r);
	fq_qstore_advance(st, 60);
	fq_qstore_stats(st, &s);
	ok &= TL_CHECK("query_bounds", s.keys == 0 && s.cells == 0, "left %zu keys %zu cells", s.keys,
		       s.cells);
	if (ok)
		TL_OK("query_bounds");
	fq_qstore_free(st);
}

/* application protocol naming agrees with getservbyport */
static void test_appproto(void)
{
	char buf[64], want[64];
	struct servent *se = getservbyport(htons(443), "tcp");
	bool ok = true;

	if (!se) {
		TL_SKIP("appproto_services", "no /etc/services entry for 443/tcp");
		return;
	}
	snprintf(want, sizeof(want), "tcp/%s", se->s_name);
	ok &= TL_CHECK("appproto_services", !strcmp(fq_appproto_name(fq_appproto_id(6, 51000, 443), buf, 64), want),
		       "got %s want %s", buf, want);
	se = getservbyport(htons(53), "udp");
	snprintf(want, sizeof(want), "udp/%s", se ? se->s_name : "?");
	ok &= TL_CHECK("appproto_services", !strcmp(fq_appproto_name(fq_appproto_id(17, 53, 40000), buf, 64), want),
		       "got %s want %s", buf, want);
	ok &= TL_CHECK("appproto_services", !strcmp(fq_appproto_name(fq_appproto_id(6, 40001, 40002), buf, 64), "tcp/other"),
		       "got %s", buf);
	ok &= TL_CHECK("appproto_services", !strcmp(fq_appproto_name(fq_appproto_id(1, 0x800, 7), buf, 64), "icmp"),
		       "got %s", buf);
	if (ok)
		TL_OK("appproto_services");
}

int main(void)
{
	obuf = calloc(1 << 16, sizeof(*obuf));
	test_appproto();
	test_edges();
	test_bounds();
	test_stream();
	test_flows();
	return tl_exit();
}
