// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Window records from the BPF program (BPF_PROG_RUN, replay clock) equal
 * windows computed here, independently, from the same packets.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib.h"
#include "common.h"
#include "window.h"
#include "flowqoe.skel.h"

#define NPKT 5000
#define NHOST 7
#define WIN_NS 33000000ULL

struct pkt {
	uint64_t t;
	int a, b;     /* host indices: a sends to b */
	int len;      /* IP total length */
};

static struct pkt pk[NPKT];
static uint8_t frame[1600];

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t xr(void) { return tl_xorshift(&rng); }

static int build(const struct pkt *p)
{
	uint16_t tot = p->len;
	uint8_t *ip = frame + 14;

	memset(frame, 0, 14 + 28);
	frame[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = tot >> 8;
	ip[3] = tot & 0xff;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10; ip[15] = 1 + p->a;
	ip[16] = 10; ip[19] = 1 + p->b;
	ip[20] = 0x30; ip[21] = 0x39; /* sport 12345 */
	ip[22] = 0x01; ip[23] = 0xbb; /* dport 443 */
	ip[24] = (tot - 20) >> 8;
	ip[25] = (tot - 20) & 0xff;
	return 14 + tot;
}

/* oracle: windows by (pair, start) */
struct owin {
	int lo, hi;
	uint64_t start;
	int init;              /* initiator host of the conversation */
	struct fq_win_dir d[2]; /* indexed by "sender is lo" ? 0 : 1 */
	int used;
};
#define MAXW 20000
static struct owin ow[MAXW];
static int now_;

static struct owin *owin_get(int lo, int hi, uint64_t start)
{
	for (int i = now_ - 1; i >= 0; i--)
		if (ow[i].lo == lo && ow[i].hi == hi && ow[i].start == start)
			return &ow[i];
	ow[now_].lo = lo;
	ow[now_].hi = hi;
	ow[now_].start = start;
	return &ow[now_++];
}

static struct fq_win_rec got[MAXW];
static int ngot;

static int on_rec(void *ctx, void *data, size_t len)
{
	if (ngot < MAXW)
		memcpy(&got[ngot++], data, sizeof(struct fq_win_rec));
	return 0;
}

static void on_flush(void *ctx, const struct fq_win_rec *r)
{
	on_rec(ctx, (void *)r, sizeof(*r));
}

int main(void)
{
	struct flowqoe *skel;
	struct ring_buffer *rb;
	int init_of[NHOST][NHOST];
	uint64_t t = 1700000000000000000ULL;
	int fd, errors = 0, matched = 0;
	struct bpf_map *m;

	memset(init_of, -1, sizeof(init_of));
	skel = flowqoe__open();
	if (!skel) {
		TL_SKIP("windows/load", "cannot open the BPF object");
		return tl_exit();
	}
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	skel->rodata->cfg_replay_clock = 1;
	skel->rodata->cfg_win_ns = WIN_NS;
	if (flowqoe__load(skel)) {
		TL_FAIL("windows/load", "load failed: %s", strerror(errno));
		return tl_exit();
	}
	fd = bpf_program__fd(skel->progs.fq_xdp);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.fq_winrb), on_rec, NULL, NULL);

	for (int i = 0; i < NPKT; i++) {
		struct pkt *p = &pk[i];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .repeat = 1);
		int lo, hi, dir;
		struct owin *w;
		struct fq_win_dir *d;

		/* bursts and gaps: 0..2 ms mostly, sometimes 50..200 ms */
		t += (xr() % 10 == 0) ? 50000000 + xr() % 150000000 : xr() % 2000000;
		p->t = t;
		p->a = xr() % NHOST;
		do
			p->b = xr() % NHOST;
		while (p->b == p->a);
		p->len = 28 + xr() % 1400;
		o.data_size_in = build(p);
		skel->bss->fq_clock_ns = t;
		if (bpf_prog_test_run_opts(fd, &o) || o.retval != 2 /* XDP_PASS */)
			errors++;
		if (i % 64 == 0)
			ring_buffer__consume(rb);

		lo = p->a < p->b ? p->a : p->b;
		hi = p->a < p->b ? p->b : p->a;
		if (init_of[lo][hi] < 0)
			init_of[lo][hi] = p->a;
		w = owin_get(lo, hi, t - t % WIN_NS);
		w->used = 1;
		w->init = init_of[lo][hi];
		dir = p->a == lo ? 0 : 1;
		d = &w->d[dir];
		if (d->packets) {
			uint64_t iat = t - d->last_ns;

			d->iat_n++;
			d->iat_sum += iat;
			d->iat_sq += (iat / 1000) * (iat / 1000);
		}
		d->packets++;
		d->bytes += p->len;
		d->bytes_sq += (uint64_t)p->len * p->len;
		d->last_ns = t;
	}
	ring_buffer__consume(rb);
	fq_win_flush(bpf_map__fd(skel->maps.fq_conv), 0, true, on_flush, NULL);
	(void)(TL_CHECK("windows/prog-run", errors == 0, "%d BPF_PROG_RUN failures", errors) && TL_OK("windows/prog-run"));

	/* every oracle window appears exactly once with equal sums, and nothing else */
	for (int i = 0; i < ngot; i++) {
		struct fq_win_rec *r = &got[i];
		int lo = r->key.addr_lo[15] - 1, hi = r->key.addr_hi[15] - 1, j, same = 1;

		for (j = 0; j < now_; j++)
			if (ow[j].lo == lo && ow[j].hi == hi && ow[j].start == r->start_ns)
				break;
		if (j == now_ || ow[j].used != 1) {
			TL_FAIL("windows/oracle", "record %d (%d-%d @%llu) %s", i, lo, hi,
				(unsigned long long)r->start_ns, j == now_ ? "not in oracle" : "duplicate");
			errors++;
			continue;
		}
		ow[j].used = 2;
		for (int d = 0; d < 2; d++) {
			struct fq_win_dir *a = &r->dir[d], *b = &ow[j].d[d];

			same &= a->packets == b->packets && a->bytes == b->bytes &&
				a->bytes_sq == b->bytes_sq && a->iat_n == b->iat_n &&
				a->iat_sum == b->iat_sum && a->iat_sq == b->iat_sq;
		}
		same &= (r->initiator == 0) == (ow[j].init == lo);
		same &= r->len_ns == WIN_NS;
		if (!same) {
			TL_FAIL("windows/oracle", "record %d (%d-%d @%llu) sums differ", i, lo, hi,
				(unsigned long long)r->start_ns);
			errors++;
		} else {
			matched++;
		}
		if (errors > 5)
			break;
	}
	for (int j = 0; j < now_ && errors <= 5; j++)
		if (ow[j].used != 2) {
			TL_FAIL("windows/oracle", "window %d-%d @%llu missing", ow[j].lo, ow[j].hi,
				(unsigned long long)ow[j].start);
			errors++;
		}
	if (!errors && matched == now_) {
		printf("# %d packets -> %d windows, all equal\n", NPKT, matched);
		TL_OK("windows/oracle");
	}
	{
		/* features of a record: mean/std from the same sums */
		double f[FQ_WIN_NFEAT];
		struct fq_win_dir *d;

		fq_win_features(&got[0], f);
		d = &got[0].dir[got[0].initiator];
		(void)(TL_CHECK("windows/features", f[5] == d->packets && f[4] == d->bytes &&
					   (d->packets == 0 || fabs(f[0] - (double)d->bytes / d->packets) < 1e-9),
			 "features of record 0") && TL_OK("windows/features"));
	}
	ring_buffer__free(rb);
	flowqoe__destroy(skel);
	return tl_exit();
}
