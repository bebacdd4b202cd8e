// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Tier 1: userspace flow-table logic, no root. */
#include <math.h>
#include <string.h>
#include "testlib.h"
#include "common.h"
#include "flowtab.h"

/* Fill a direction the way the BPF program would for these samples. */
static void feed(struct fq_dir_stats *d, const unsigned *sizes, const unsigned long long *ts, int n)
{
	memset(d, 0, sizeof(*d));
	d->size_min = ~0U;
	d->iat_min = ~0ULL;
	for (int i = 0; i < n; i++) {
		d->packets++;
		d->bytes += sizes[i];
		d->size_sq += (unsigned long long)sizes[i] * sizes[i];
		if (sizes[i] < d->size_min) d->size_min = sizes[i];
		if (sizes[i] > d->size_max) d->size_max = sizes[i];
		if (i) {
			unsigned long long iat = ts[i] - ts[i - 1], us = iat / 1000;

			d->iat_sum += iat;
			d->iat_sq += us * us;
			if (iat < d->iat_min) d->iat_min = iat;
			if (iat > d->iat_max) d->iat_max = iat;
		} else {
			d->first_ns = ts[0];
		}
		d->last_ns = ts[i];
	}
}

static void test_stats(void)
{
	const char *name = "flowtab/derived-stats";
	unsigned sizes[] = { 60, 1500, 1500, 40, 576, 1280 };
	unsigned long long ts[] = { 1000000, 3000000, 3500000, 9000000, 9001000, 20000000 };
	struct fq_dir_stats d;
	double m = 0, v = 0, im = 0, iv = 0;
	int n = 6, ok = 1;

	feed(&d, sizes, ts, n);
	for (int i = 0; i < n; i++)
		m += sizes[i];
	m /= n;
	for (int i = 0; i < n; i++)
		v += (sizes[i] - m) * (sizes[i] - m);
	v = sqrt(v / (n - 1));
	for (int i = 1; i < n; i++)
		im += ts[i] - ts[i - 1];
	im /= n - 1;
	for (int i = 1; i < n; i++)
		iv += (ts[i] - ts[i - 1] - im) * (ts[i] - ts[i - 1] - im);
	iv = sqrt(iv / (n - 2));
	ok &= TL_CHECK(name, fabs(fq_dir_size_mean(&d) - m) < 1e-9, "mean %f vs %f", fq_dir_size_mean(&d), m);
	ok &= TL_CHECK(name, fabs(fq_dir_size_std(&d) - v) < 1e-6, "std %f vs %f", fq_dir_size_std(&d), v);
	ok &= TL_CHECK(name, fabs(fq_dir_iat_mean(&d) - im) < 1e-6, "iat mean %f vs %f", fq_dir_iat_mean(&d), im);
	/* iat_sq is kept in us^2: exact when IATs are whole microseconds, as here */
	ok &= TL_CHECK(name, fabs(fq_dir_iat_std(&d) - iv) < 1e-3, "iat std %f vs %f", fq_dir_iat_std(&d), iv);
	if (ok)
		TL_OK(name);

	name = "flowtab/stats-degenerate";
	feed(&d, sizes, ts, 1);
	ok = TL_CHECK(name, fq_dir_size_std(&d) == 0 && fq_dir_iat_mean(&d) == 0 && fq_dir_iat_std(&d) == 0,
		      "one packet must give zero std and IAT");
	memset(&d, 0, sizeof(d));
	ok &= TL_CHECK(name, fq_dir_size_mean(&d) == 0, "empty direction mean");
	if (ok)
		TL_OK(name);
}

static void test_view(void)
{
	const char *name = "flowtab/view-initiator";
	struct fq_flow_rec r = {};
	struct fq_flow_view v;
	char a[64];
	int ok = 1;

	fq_addr_parse("10.0.0.1", r.key.addr_lo);
	fq_addr_parse("10.0.0.2", r.key.addr_hi);
	r.key.port_lo = 1000;
	r.key.port_hi = 80;
	r.key.family = 4;
	r.key.proto = 6;
	r.val.initiator = FQ_DIR_HI_LO;
	r.val.dir[FQ_DIR_HI_LO].packets = 7;
	r.val.dir[FQ_DIR_LO_HI].packets = 3;
	fq_flow_view(&r, &v);
	fq_addr_str(v.src, v.family, a, sizeof(a));
	ok &= TL_CHECK(name, !strcmp(a, "10.0.0.2") && v.sport == 80, "src %s:%u", a, v.sport);
	ok &= TL_CHECK(name, v.fwd->packets == 7 && v.bwd->packets == 3, "fwd/bwd swapped");
	{
		json_t *o = fq_flow_json(&r, 0, false);

		ok &= TL_CHECK(name, json_integer_value(json_object_get(o, "fwd_packets")) == 7 &&
				     json_integer_value(json_object_get(o, "dport")) == 1000 &&
				     !strcmp(json_string_value(json_object_get(o, "dst")), "10.0.0.1"),
			       "json fields");
		json_decref(o);
	}
	if (ok)
		TL_OK(name);
}

static void test_expiry(void)
{
	const char *name = "flowtab/expiry";
	struct fq_expiry e = { .idle_ns = 15000000000ULL, .active_ns = 1800000000000ULL, .fin_ns = 1000000000ULL };
	struct fq_flow f = {};
	int ok = 1;

	f.first_ns = 100;
	f.dir[0].last_ns = 1000000000ULL;
	ok &= TL_CHECK(name, fq_flow_expired(&f, 2000000000ULL, &e) == FQ_END_NONE, "fresh flow expired");
	ok &= TL_CHECK(name, fq_flow_expired(&f, 16000000000ULL, &e) == FQ_END_IDLE, "idle not detected");
	f.dir[1].last_ns = 15500000000ULL;
	ok &= TL_CHECK(name, fq_flow_expired(&f, 16000000000ULL, &e) == FQ_END_NONE, "idle uses last of both dirs");
	f.fin_seen = 1;
	ok &= TL_CHECK(name, fq_flow_expired(&f, 17000000000ULL, &e) == FQ_END_NONE, "FIN one way ends flow");
	f.fin_seen = 3;
	ok &= TL_CHECK(name, fq_flow_expired(&f, 16000000000ULL, &e) == FQ_END_NONE, "FIN grace ignored");
	ok &= TL_CHECK(name, fq_flow_expired(&f, 16600000000ULL, &e) == FQ_END_FIN, "FIN both ways not ended");
	f.fin_seen = 0;
	f.rst_seen = 1;
	ok &= TL_CHECK(name, fq_flow_expired(&f, 16600000000ULL, &e) == FQ_END_RST, "RST not ended");
	f.rst_seen = 0;
	f.dir[1].last_ns = 1800000000000ULL;
	ok &= TL_CHECK(name, fq_flow_expired(&f, 1800000000200ULL, &e) == FQ_END_ACTIVE, "active timeout");
	if (ok)
		TL_OK(name);
}

static void test_parse(void)
{
	const char *name = "common/parse";
	uint64_t u;
	double d;
	uint8_t a[16];
	char s[64];
	int ok = 1;

	ok &= TL_CHECK(name, fq_parse_u64("42", &u) == 0 && u == 42, "42");
	ok &= TL_CHECK(name, fq_parse_u64("-1", &u) != 0, "-1 accepted");
	ok &= TL_CHECK(name, fq_parse_u64("12x", &u) != 0, "12x accepted");
	ok &= TL_CHECK(name, fq_parse_u64("", &u) != 0, "empty accepted");
	ok &= TL_CHECK(name, fq_parse_u64("99999999999999999999999", &u) != 0, "overflow accepted");
	ok &= TL_CHECK(name, fq_parse_double("nan", &d) != 0, "nan accepted");
	ok &= TL_CHECK(name, fq_parse_double("0.5", &d) == 0 && d == 0.5, "0.5");
	ok &= TL_CHECK(name, fq_addr_parse("2001:db8::1", a) == 6, "v6");
	fq_addr_str(a, 6, s, sizeof(s));
	ok &= TL_CHECK(name, !strcmp(s, "2001:db8::1"), "v6 roundtrip %s", s);
	ok &= TL_CHECK(name, fq_addr_parse("192.0.2.7", a) == 4 && a[10] == 0xff && a[15] == 7, "v4 mapped");
	ok &= TL_CHECK(name, fq_addr_parse("300.1.1.1", a) == -1, "bad v4 accepted");
	if (ok)
		TL_OK(name);
}

int main(void)
{
	test_stats();
	test_view();
	test_expiry();
	test_parse();
	return tl_exit();
}
