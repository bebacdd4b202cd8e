// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Classifier pipeline: with 1, 2 and 4 workers the aggregate table is the
 * same, and equals a sequential oracle; window features equal values
 * computed here from the raw samples; queue overflow is counted.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "testlib.h"
#include "common.h"
#include "classify.h"
#include "window.h"

#define NCONV 300
#define NREC 20000

static const char *const classes[] = { "a", "b", "c" };

/* deterministic rule on features: any function of the inputs will do */
static int rule(const void *m, const float *x)
{
	(void)m;
	return ((int)x[0] + (int)x[1] * 7) % 3;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t xr(void) { return tl_xorshift(&rng); }

static void make_rec(struct fq_win_rec *r, int conv, uint64_t t)
{
	memset(r, 0, sizeof(*r));
	fq_addr_parse("10.0.0.1", r->key.addr_lo);
	r->key.addr_lo[15] = conv & 0xff;
	r->key.addr_lo[14] = conv >> 8;
	fq_addr_parse("10.1.0.1", r->key.addr_hi);
	r->key.family = 4;
	r->start_ns = t;
	r->len_ns = 33000000;
	for (int d = 0; d < 2; d++) {
		uint32_t n = xr() % 20;

		r->dir[d].packets = n;
		r->dir[d].bytes = n * (60 + xr() % 1400);
	}
}

static struct fq_win_rec recs[NREC];

static json_t *run(int workers, struct fq_clf_model *m)
{
	struct fq_clf *c = fq_clf_new(m, workers, NREC, 1000000000000ULL);
	json_t *t;

	for (int i = 0; i < NREC; i++)
		fq_clf_submit(c, &recs[i]);
	fq_clf_drain(c);
	t = fq_clf_table_json(c, 0);
	fq_clf_free(c);
	return t;
}

static void test_workers(void)
{
	const char *names[] = { "fwd_packets", "bwd_bytes" };
	struct fq_clf_model m = { .predict = rule, .nclasses = 3, .class_names = classes };
	uint64_t oracle[NCONV][3] = {};
	int latest[NCONV];
	json_t *t1, *t2, *t4;
	int ok = 1;

	if (fq_clf_model_map(&m, names, 2)) {
		TL_FAIL("classify/map", "feature names not mapped");
		return;
	}
	for (int i = 0; i < NREC; i++) {
		int conv = xr() % NCONV;
		double f[FQ_WIN_NFEAT];
		float x[2];

		make_rec(&recs[i], conv, 1000000000ULL + i * 1000ULL);
		fq_win_features(&recs[i], f);
		x[0] = f[5];
		x[1] = f[10];
		oracle[conv][rule(NULL, x)]++;
		latest[conv] = rule(NULL, x);
	}
	t1 = run(1, &m);
	t2 = run(2, &m);
	t4 = run(4, &m);
	ok &= TL_CHECK("classify/workers-identical", json_equal(t1, t2) && json_equal(t1, t4),
		       "aggregate tables differ between 1, 2 and 4 workers");
	if (ok)
		TL_OK("classify/workers-identical");
	ok = 1;
	{
		size_t i;
		json_t *o;
		long seen = 0;

		json_array_foreach(t4, i, o) {
			uint8_t a[16];
			int conv;
			json_t *pc = json_object_get(o, "per_class");

			fq_addr_parse(json_string_value(json_object_get(o, "src")), a);
			conv = a[14] << 8 | a[15];
			seen++;
			for (int k = 0; k < 3; k++)
				ok &= TL_CHECK("classify/oracle",
					       (uint64_t)json_integer_value(json_object_get(pc, classes[k])) ==
						       oracle[conv][k],
					       "conv %d class %d", conv, k);
			ok &= TL_CHECK("classify/oracle",
				       !strcmp(json_string_value(json_object_get(o, "latest_class")),
					       classes[latest[conv]]),
				       "conv %d latest", conv);
			if (!ok)
				break;
		}
		ok &= TL_CHECK("classify/oracle", seen == NCONV, "%ld conversations, want %d", seen, NCONV);
	}
	if (ok)
		TL_OK("classify/oracle");
	json_decref(t1);
	json_decref(t2);
	json_decref(t4);
}

static int slow_rule(const void *m, const float *x)
{
	usleep(1000);
	return 0;
}

static void test_backpressure(void)
{
	const char *names[] = { "fwd_packets" };
	struct fq_clf_model m = { .predict = slow_rule, .nclasses = 3, .class_names = classes };
	struct fq_clf *c;
	struct fq_clf_stats s;
	int refused = 0;

	fq_clf_model_map(&m, names, 1);
	c = fq_clf_new(&m, 1, 16, 1000000000000ULL);
	for (int i = 0; i < 200; i++)
		if (fq_clf_submit(c, &recs[i]))
			refused++;
	fq_clf_drain(c);
	fq_clf_stats(c, &s);
	if (TL_CHECK("classify/backpressure", refused > 0 && s.dropped == (uint64_t)refused &&
				  s.classified + s.dropped == 200 && s.submitted == 200,
		     "refused %d dropped %llu classified %llu", refused, (unsigned long long)s.dropped,
		     (unsigned long long)s.classified))
		TL_OK("classify/backpressure");
	fq_clf_free(c);
}

static void test_features(void)
{
	/* fwd: sizes 100, 300, 500 at 0, 1000, 4000 us; bwd: one 1500 */
	const char *name = "window/features";
	struct fq_win_rec r = {};
	double f[FQ_WIN_NFEAT];
	int ok = 1;

	r.initiator = 1; /* the initiator is addr_hi: fwd = dir[1] */
	r.dir[1].packets = 3;
	r.dir[1].bytes = 900;
	r.dir[1].bytes_sq = 100 * 100 + 300 * 300 + 500 * 500;
	r.dir[1].iat_n = 2;
	r.dir[1].iat_sum = 4000000;
	r.dir[1].iat_sq = 1000 * 1000 + 3000 * 3000;
	r.dir[0].packets = 1;
	r.dir[0].bytes = 1500;
	r.dir[0].bytes_sq = 1500 * 1500;
	fq_win_features(&r, f);
	ok &= TL_CHECK(name, f[0] == 300 && fabs(f[1] - sqrt((200.0 * 200 * 2) / 3)) < 1e-9,
		       "fwd size mean/std %f %f", f[0], f[1]);
	ok &= TL_CHECK(name, f[2] == 2000 && fabs(f[3] - 1000) < 1e-9, "fwd iat mean/std %f %f", f[2], f[3]);
	ok &= TL_CHECK(name, f[4] == 900 && f[5] == 3, "fwd sums");
	ok &= TL_CHECK(name, f[6] == 1500 && f[7] == 0 && f[8] == 0 && f[9] == 0 && f[11] == 1,
		       "bwd single packet: std and IAT are 0");
	if (ok)
		TL_OK(name);
}

int main(void)
{
	test_features();
	test_workers();
	test_backpressure();
	return tl_exit();
}
