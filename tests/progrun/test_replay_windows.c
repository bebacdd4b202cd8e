// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fq_replay_file's window records (flowqoe replay --windows) equal those of
 * the plain BPF_PROG_RUN path of test_windows.c on the same packets: the
 * same count, and every record the same key, start, initiator, integer sums
 * and 12 features.  The capture is written here (libpcap, ns timestamps)
 * with more records than the 4 MiB ring buffer holds, so replay's draining
 * is checked too (nothing lost, fq_winctr says so).
 */
#include "fq_pcap.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib.h"
#include "common.h"
#include "replay.h"
#include "window.h"
#include "flowqoe.skel.h"

#define NPKT 40000
#define NHOST 9
#define WIN_NS 10000000ULL

struct pkt {
	uint64_t t;
	int a, b, len, v6;
};

static struct pkt pk[NPKT];

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static uint64_t xr(void) { return tl_xorshift(&rng); }

/* UDP over IPv4 or IPv6, addresses from host indices; len: IP length */
static int build(const struct pkt *p, uint8_t *f)
{
	uint8_t *ip = f + 14, *l4;
	int l3 = p->v6 ? 40 : 20, n = p->len - l3;

	memset(f, 0, 14 + p->len);
	f[0] = 2;
	f[6] = 2;
	f[12] = p->v6 ? 0x86 : 0x08;
	f[13] = p->v6 ? 0xdd : 0x00;
	if (p->v6) {
		ip[0] = 0x60;
		ip[4] = n >> 8;
		ip[5] = n & 0xff;
		ip[6] = 17;
		ip[7] = 64;
		ip[8] = 0xfd; ip[23] = 1 + p->a;
		ip[24] = 0xfd; ip[39] = 1 + p->b;
	} else {
		ip[0] = 0x45;
		ip[2] = p->len >> 8;
		ip[3] = p->len & 0xff;
		ip[8] = 64;
		ip[9] = 17;
		ip[12] = 10; ip[15] = 1 + p->a;
		ip[16] = 10; ip[19] = 1 + p->b;
	}
	l4 = ip + l3;
	l4[0] = 0x30; l4[1] = 0x39;
	l4[2] = 0x01; l4[3] = 0xbb;
	l4[4] = n >> 8;
	l4[5] = n & 0xff;
	return 14 + p->len;
}

struct recs {
	struct fq_win_rec *v;
	size_t n, cap;
};

static void push(struct recs *r, const struct fq_win_rec *w)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4096;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		if (!r->v)
			abort();
	}
	r->v[r->n++] = *w;
}

static void on_win(void *ctx, const struct fq_win_rec *w)
{
	push(ctx, w);
}

static int on_rb(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(struct fq_win_rec))
		push(ctx, data);
	return 0;
}

static void on_flush(void *ctx, const struct fq_win_rec *w)
{
	push(ctx, w);
}

static int cmp(const void *a, const void *b)
{
	const struct fq_win_rec *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* the plain path: BPF_PROG_RUN per packet, ring buffer, flush at the end */
static int prog_run_path(struct recs *out)
{
	static uint8_t frame[1600];
	struct flowqoe *skel;
	struct ring_buffer *rb;
	struct bpf_map *m;
	int fd, err = 0;

	skel = flowqoe__open();
	if (!skel)
		return -1;
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	skel->rodata->cfg_replay_clock = 1;
	skel->rodata->cfg_win_ns = WIN_NS;
	if (flowqoe__load(skel)) {
		flowqoe__destroy(skel);
		return -1;
	}
	fd = bpf_program__fd(skel->progs.fq_xdp);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.fq_winrb), on_rb, out, NULL);
	for (int i = 0; i < NPKT && rb; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .repeat = 1);

		o.data_size_in = build(&pk[i], frame);
		skel->bss->fq_clock_ns = pk[i].t;
		if (bpf_prog_test_run_opts(fd, &o) || o.retval != 2 /* XDP_PASS */)
			err = -1;
		if (i % 64 == 0)
			ring_buffer__consume(rb);
	}
	if (rb)
		ring_buffer__consume(rb);
	fq_win_flush(bpf_map__fd(skel->maps.fq_conv), 0, true, on_flush, out);
	ring_buffer__free(rb);
	flowqoe__destroy(skel);
	return rb ? err : -1;
}

int main(void)
{
	char path[] = "/tmp/fq-rpwin.XXXXXX";
	static uint8_t frame[1600];
	struct recs a = { 0 }, b = { 0 };
	struct fq_replay_opts o = { 0 };
	struct fq_replay_stats st;
	uint64_t t = 1700000000000000000ULL;
	pcap_dumper_t *d;
	pcap_t *dead;
	size_t diff = 0;
	int fd;

	fd = mkstemp(path);
	if (fd < 0) {
		TL_FAIL("replay-windows/pcap", "mkstemp: %s", strerror(errno));
		return tl_exit();
	}
	close(fd);
	dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
	d = dead ? pcap_dump_open(dead, path) : NULL;
	if (!d) {
		TL_FAIL("replay-windows/pcap", "cannot write %s", path);
		unlink(path);
		return tl_exit();
	}
	for (int i = 0; i < NPKT; i++) {
		struct pkt *p = &pk[i];
		struct pcap_pkthdr h = { 0 };

		/* bursts, gaps of one to many windows, any ns */
		t += (xr() % 10 == 0) ? 10000000 + xr() % 150000000 : xr() % 2000000;
		p->t = t;
		p->v6 = xr() % 4 == 0;
		p->a = xr() % NHOST;
		do
			p->b = xr() % NHOST;
		while (p->b == p->a);
		p->len = (p->v6 ? 48 : 28) + xr() % 1400;
		h.ts.tv_sec = t / 1000000000ULL;
		h.ts.tv_usec = t % 1000000000ULL; /* ns: the dumper's precision */
		h.caplen = h.len = build(p, frame);
		pcap_dump((u_char *)d, &h, frame);
	}
	pcap_dump_close(d);
	pcap_close(dead);

	o.flow_timeout_ns = 120ULL * 1000000000;
	o.act_timeout_ns = 5ULL * 1000000000;
	o.fin_linger_ns = 1000000000ULL;
	o.win_ns = WIN_NS;
	o.on_win = on_win;
	o.win_ctx = &a;
	if (fq_replay_file(path, &o, &st)) {
		TL_FAIL("replay-windows/replay", "fq_replay_file failed");
		goto out;
	}
	if (TL_CHECK("replay-windows/replay", st.run == NPKT && st.win_records == a.n && st.win_lost == 0 &&
			     st.win_conv_full == 0,
		     "%llu of %d packets run, %llu records counted, %zu passed, %llu lost, %llu conv-full",
		     (unsigned long long)st.run, NPKT, (unsigned long long)st.win_records, a.n,
		     (unsigned long long)st.win_lost, (unsigned long long)st.win_conv_full))
		TL_OK("replay-windows/replay");
	if (prog_run_path(&b)) {
		TL_FAIL("replay-windows/prog-run", "the BPF_PROG_RUN path failed (load or run)");
		goto out;
	}
	/* more records than the ring holds (~23k of 176 bytes in 4 MiB):
	 * replay had to drain while it ran */
	if (TL_CHECK("replay-windows/count", a.n == b.n && a.n > 30000,
		     "replay %zu records, prog-run path %zu (want equal, > 30000)", a.n, b.n))
		TL_OK("replay-windows/count");
	qsort(a.v, a.n, sizeof(*a.v), cmp);
	qsort(b.v, b.n, sizeof(*b.v), cmp);
	for (size_t i = 0; i < a.n && i < b.n; i++) {
		const struct fq_win_rec *x = &a.v[i], *y = &b.v[i];
		double fx[FQ_WIN_NFEAT], fy[FQ_WIN_NFEAT];
		int same = !memcmp(&x->key, &y->key, sizeof(x->key)) && x->start_ns == y->start_ns &&
			   x->len_ns == y->len_ns && x->initiator == y->initiator;

		for (int k = 0; k < 2; k++) {
			const struct fq_win_dir *p = &x->dir[k], *q = &y->dir[k];

			same &= p->packets == q->packets && p->iat_n == q->iat_n && p->bytes == q->bytes &&
				p->bytes_sq == q->bytes_sq && p->iat_sum == q->iat_sum &&
				p->iat_sq == q->iat_sq && p->last_ns == q->last_ns;
		}
		fq_win_features(x, fx);
		fq_win_features(y, fy);
		same &= !memcmp(fx, fy, sizeof(fx));
		if (!same && diff++ < 3)
			TL_FAIL("replay-windows/records", "record %zu (start %llu) differs", i,
				(unsigned long long)x->start_ns);
	}
	if (!diff && a.n == b.n) {
		printf("# %d packets -> %zu windows, every record and its 12 features equal\n", NPKT, a.n);
		TL_OK("replay-windows/records");
	} else if (!diff) {
		TL_FAIL("replay-windows/records", "counts differ");
	}
out:
	free(a.v);
	free(b.v);
	unlink(path);
	return tl_exit();
}
