// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench/query: the query engine and the exporter without BPF.  Simulates
 * `flows` active flows polled once per (simulated) second for `span`
 * seconds, `churn` of them replaced by flows with a new client address every
 * second (distinct IPs = flows + churn x seconds + servers), then prints the
 * window store's memory and the time of the six queries and of /metrics.
 * With a port it then serves the API on 127.0.0.1:PORT and keeps polling
 * once per real second (as attach does) until SIGTERM, for wrk.
 *
 *   query FLOWS CHURN SECONDS [PORT]
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "http.h"

#define SERVERS 1000

static volatile sig_atomic_t stop;
static void on_sig(int s) { stop = s; }

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t next_client = 1;

static void mkflow(struct fq_flow_rec *r, uint32_t i)
{
	uint32_t c = next_client++, s = i % SERVERS;
	static const uint16_t ports[] = { 443, 80, 53, 22, 8080, 3478, 5228, 993 };

	memset(r, 0, sizeof(*r));
	r->key.family = 4;
	r->key.proto = i % 5 == 0 ? 17 : 6;
	r->key.addr_lo[10] = r->key.addr_lo[11] = 0xff;
	r->key.addr_hi[10] = r->key.addr_hi[11] = 0xff;
	r->key.addr_lo[12] = 10;           /* 10.x.y.z clients */
	r->key.addr_lo[13] = c >> 16;
	r->key.addr_lo[14] = c >> 8;
	r->key.addr_lo[15] = c;
	r->key.addr_hi[12] = 172;          /* 172.16.x.y servers */
	r->key.addr_hi[13] = 16;
	r->key.addr_hi[14] = s >> 8;
	r->key.addr_hi[15] = s;
	r->key.port_lo = ports[i % 8];
	r->key.port_hi = 30000 + i % 30000;
}

static void step(struct fq_flow_rec *f, uint32_t n, uint64_t sec, unsigned seed)
{
	for (uint32_t i = 0; i < n; i++) {
		/* heavy-tailed sizes so the queries have something to find */
		uint32_t b = 100 + ((i * 2654435761u + seed) % 1500) * (i % 97 == 0 ? 50 : 1);

		f[i].val.dir[0].bytes += b;
		f[i].val.dir[0].packets += 1 + b / 1500;
		f[i].val.dir[0].size_hist[10]++;
		f[i].val.last_ns = f[i].val.dir[0].last_ns = sec * 1000000000ULL;
	}
}

int main(int argc, char **argv)
{
	struct fq_qparams p = { .H = 1, .k = 10, .X = 3, .T = 300 };
	struct fq_exporter x;
	struct fq_totals t = {};
	struct fq_flow_rec *f;
	uint32_t nf, churn, secs, port = 0;
	double t0, c0, feed, feed_cpu, ev[2] = { 1e9, 0 }, rd[2] = { 1e9, 0 }, evc = 1e9;
	struct fq_qstore_stats s[2];
	size_t mlen = 0;
	char *m;

	if (argc < 4) {
		fprintf(stderr, "usage: query FLOWS CHURN SECONDS [PORT]\n");
		return 2;
	}
	nf = atoi(argv[1]);
	churn = atoi(argv[2]);
	secs = atoi(argv[3]);
	if (argc > 4)
		port = atoi(argv[4]);
	p.T = secs < 300 ? secs : 300;
	if (fq_exporter_init(&x, "bench0", p.T, &p, 1u << 24, 1u << 28))
		return 1;
	f = calloc(nf, sizeof(*f));
	for (uint32_t i = 0; i < nf; i++)
		mkflow(&f[i], i);
	t0 = now_s();
	c0 = cpu_s();
	for (uint32_t sec = 1; sec <= secs; sec++) {
		for (uint32_t j = 0; j < churn; j++) {
			uint32_t i = (sec * churn + j) % nf;

			fq_exporter_flow_end(&x, &f[i]);
			mkflow(&f[i], i);
		}
		step(f, nf, 1000 + sec, sec);
		t.packets[0] += nf;
		fq_exporter_poll(&x, 1000 + sec, f, nf, &t, NULL);
	}
	feed = now_s() - t0;
	feed_cpu = cpu_s() - c0;
	/* best and median-ish of 5 evaluations / renders */
	for (int r = 0; r < 5; r++) {
		struct fq_qresult res[6];
		double a = now_s(), b, c = cpu_s();

		pthread_mutex_lock(&x.mu);
		fq_query_eval_all(x.q, res);
		pthread_mutex_unlock(&x.mu);
		b = now_s() - a;
		c = cpu_s() - c;
		evc = c < evc ? c : evc;
		ev[0] = b < ev[0] ? b : ev[0];
		ev[1] += b / 5;
		for (int i = 0; i < 6; i++)
			fq_qresult_free(&res[i]);
		a = now_s();
		m = fq_exporter_metrics(&x, &mlen);
		b = now_s() - a;
		rd[0] = b < rd[0] ? b : rd[0];
		rd[1] += b / 5;
		free(m);
	}
	fq_qstore_stats(x.q->by[0], &s[0]);
	fq_qstore_stats(x.q->by[1], &s[1]);
	printf("flows %u, churn %u/s, %u s simulated in %.1f s wall, %.1f s CPU (%.0f flow updates per CPU s)\n",
	       nf, churn, secs, feed, feed_cpu, (double)nf * secs / feed_cpu);
	printf("window T=%u s: proto store %zu keys %zu cells %.1f MB; ip store %zu keys %zu cells %.1f MB; "
	       "flow tracker %zu flows; dropped %llu\n",
	       p.T, s[0].keys, s[0].cells, s[0].mem_bytes / 1e6, s[1].keys, s[1].cells,
	       s[1].mem_bytes / 1e6, fq_query_flows_tracked(x.q),
	       (unsigned long long)(s[0].dropped_deltas + s[1].dropped_deltas));
	printf("six queries: best %.2f ms wall (%.2f ms CPU), mean %.2f ms wall (keys in window: proto %zu, ip %zu)\n",
	       ev[0] * 1e3, evc * 1e3, ev[1] * 1e3, x.res[0].nkeys, x.res[3].nkeys);
	printf("/metrics render: best %.3f ms, mean %.3f ms, %zu bytes\n", rd[0] * 1e3, rd[1] * 1e3, mlen);
	printf("poll (deltas + windows + six queries) of the last second: %.1f ms\n", x.poll_seconds * 1e3);
	fflush(stdout);
	if (port) {
		char addr[64];
		uint32_t sec = secs;

		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		if (fq_exporter_listen(&x, addr)) {
			fprintf(stderr, "cannot listen on %s\n", addr);
			return 1;
		}
		signal(SIGTERM, on_sig);
		signal(SIGINT, on_sig);
		printf("listening on %s\n", addr);
		fflush(stdout);
		while (!stop) {
			double a = now_s();

			sec++;
			for (uint32_t j = 0; j < churn; j++) {
				uint32_t i = (sec * churn + j) % nf;

				fq_exporter_flow_end(&x, &f[i]);
				mkflow(&f[i], i);
			}
			step(f, nf, 1000 + sec, sec);
			fq_exporter_poll(&x, 1000 + sec, f, nf, &t, NULL);
			a = 1.0 - (now_s() - a);
			if (a > 0)
				usleep(a * 1e6);
		}
	}
	fq_exporter_fini(&x);
	free(f);
	return 0;
}
