// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Exact counts when two CPUs update one flow at once, as ingress XDP and
 * egress tc (or two queues of a NIC) do live: two threads pinned to two
 * CPUs run fq_xdp through BPF_PROG_RUN (repeat=N) at the same time, on the
 * live clock (cfg_replay_clock 0, so the per-flow spin lock is taken).
 *   - opposite directions of one flow: each direction's statistics and the
 *     flow's own fields are touched by both CPUs;
 *   - the same direction from both CPUs: every field of one direction is.
 * Every count must equal what was sent: packets, bytes, sums of sizes and
 * squares, header and payload bytes, flags, histogram totals (packets, and
 * packets - 1 IAT samples), and the interface totals.  Needs root and two
 * CPUs (skips otherwise).
 */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib.h"
#include "pkt.h"
#include "flowqoe.h"
#include "flowqoe.skel.h"

#define REPEAT 200000
#define ROUNDS 5

struct worker {
	int prog_fd;
	int cpu;
	const struct pb_frame *frame;
	pthread_barrier_t *start;
	int err;
	uint32_t retval;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		w->err = -errno;
		pthread_barrier_wait(w->start);
		return NULL;
	}
	pthread_barrier_wait(w->start);
	for (int r = 0; r < ROUNDS && !w->err; r++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = w->frame->buf,
			    .data_size_in = w->frame->len, .repeat = REPEAT);

		w->err = bpf_prog_test_run_opts(w->prog_fd, &o);
		w->retval = o.retval;
	}
	return NULL;
}

/* The flow of frame f, keyed as the datapath keys it (IPv4: mapped). */
static int flow_of(int fd, const char *a, const char *b, uint16_t pa, uint16_t pb_,
		   struct fq_flow *v, uint8_t *lo_is_a)
{
	struct fq_flow_key k = { .proto = 6, .family = 4 };
	uint8_t x[16] = { [10] = 0xff, [11] = 0xff }, y[16] = { [10] = 0xff, [11] = 0xff };
	int swap;

	inet_pton(AF_INET, a, x + 12);
	inet_pton(AF_INET, b, y + 12);
	swap = memcmp(x, y, 16) > 0 || (memcmp(x, y, 16) == 0 && pa > pb_);
	memcpy(k.addr_lo, swap ? y : x, 16);
	memcpy(k.addr_hi, swap ? x : y, 16);
	k.port_lo = swap ? pb_ : pa;
	k.port_hi = swap ? pa : pb_;
	*lo_is_a = !swap;
	return bpf_map_lookup_elem(fd, &k, v);
}

static uint64_t sum32(const uint32_t *v, int n)
{
	uint64_t s = 0;

	for (int i = 0; i < n; i++)
		s += v[i];
	return s;
}

/* One direction's statistics against n packets of IP length len, header
 * bytes hdr, TCP flags fl. */
static void check_dir(const char *name, const struct fq_dir_stats *d, uint64_t n, uint32_t len,
		      uint32_t hdr, uint8_t fl)
{
	TL_EQ_U64(name, "packets", d->packets, n);
	TL_EQ_U64(name, "bytes", d->bytes, n * len);
	TL_EQ_U64(name, "size_sq", d->size_sq, n * len * len);
	TL_EQ_U64(name, "hdr_bytes", d->hdr_bytes, n * hdr);
	TL_EQ_U64(name, "payload", d->payload, n * (len - hdr));
	TL_EQ_U64(name, "size histogram total", sum32(d->size_hist, FQ_SIZE_BINS), n);
	TL_EQ_U64(name, "IAT histogram total", sum32(d->iat_hist, FQ_IAT_BINS), n - 1);
	TL_EQ_U64(name, "size_min", d->size_min, len);
	TL_EQ_U64(name, "size_max", d->size_max, len);
	TL_CHECK(name, d->iat_min <= d->iat_max && d->iat_sum >= d->iat_max,
		 "IAT min %llu max %llu sum %llu", (unsigned long long)d->iat_min,
		 (unsigned long long)d->iat_max, (unsigned long long)d->iat_sum);
	TL_CHECK(name, d->first_ns && d->first_ns <= d->last_ns, "first %llu last %llu",
		 (unsigned long long)d->first_ns, (unsigned long long)d->last_ns);
	for (int i = 0; i < FQ_NFLAGS; i++)
		TL_EQ_U64(name, "flag count", d->flags[i], fl & (1 << i) ? n : 0);
}

/* One fq_totals field summed over the CPUs. */
static uint64_t total(struct flowqoe *skel, size_t off)
{
	int ncpu = libbpf_num_possible_cpus();
	struct fq_totals *t = calloc(ncpu, sizeof(*t));
	uint32_t zero = 0;
	uint64_t s = 0;

	if (t && bpf_map_lookup_elem(bpf_map__fd(skel->maps.fq_totals), &zero, t) == 0)
		for (int i = 0; i < ncpu; i++)
			s += *(uint64_t *)((char *)&t[i] + off);
	free(t);
	return s;
}
#define TOTAL(skel, f) total(skel, offsetof(struct fq_totals, f))

/* Two threads, frames fa (CPU ca) and fb (CPU cb), at once. */
static int race(int prog_fd, const struct pb_frame *fa, const struct pb_frame *fb, int ca, int cb)
{
	pthread_barrier_t start;
	struct worker w[2] = {
		{ .prog_fd = prog_fd, .cpu = ca, .frame = fa, .start = &start },
		{ .prog_fd = prog_fd, .cpu = cb, .frame = fb, .start = &start },
	};
	pthread_t th[2];

	pthread_barrier_init(&start, NULL, 2);
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, work, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < 2; i++)
		if (w[i].err || w[i].retval != 2 /* XDP_PASS */)
			return w[i].err ? w[i].err : -EPROTO;
	return 0;
}

/* Race fa and fb on the two CPUs, then read the flow 10.9.0.1:sport <->
 * 10.9.0.2:443 into v, with fwd/bwd its directions as seen from 10.9.0.1.
 * -1: BPF_PROG_RUN failed; 0: no such flow; 1: found. */
static int race_flow(const char *name, int prog_fd, int map_fd, const struct pb_frame *fa,
		     const struct pb_frame *fb, const int *cpus, uint16_t sport, struct fq_flow *v,
		     const struct fq_dir_stats **fwd, const struct fq_dir_stats **bwd)
{
	int err = race(prog_fd, fa, fb, cpus[0], cpus[1]);
	uint8_t lo_is_a;

	if (!TL_CHECK(name, !err, "BPF_PROG_RUN: %s", strerror(-err)))
		return -1;
	if (!TL_CHECK(name, !flow_of(map_fd, "10.9.0.1", "10.9.0.2", sport, 443, v, &lo_is_a),
		      "flow not found"))
		return 0;
	*fwd = &v->dir[lo_is_a ? 0 : 1];
	*bwd = &v->dir[lo_is_a ? 1 : 0];
	return 1;
}

int main(void)
{
	const uint64_t n = (uint64_t)REPEAT * ROUNDS;
	struct pb_frame fwd, rev, same;
	struct flowqoe *skel = NULL;
	struct bpf_map *m;
	struct fq_flow v;
	const struct fq_dir_stats *a, *b;
	int cpus[2], nc = 0, err, fd, prog;
	cpu_set_t set;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		TL_SKIP("concurrent", "needs root (BPF_PROG_RUN)");
		return 0;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && nc < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus[nc++] = c;
	if (nc < 2) {
		TL_SKIP("concurrent", "needs two CPUs");
		return 0;
	}

	/* 10.9.0.1:40000 -> 10.9.0.2:443 with 100 bytes; the reply, empty;
	 * a second flow (port 40001) for both CPUs in one direction */
	pb_build(&(struct pb){ .ipv = 4, .src = "10.9.0.1", .dst = "10.9.0.2", .l4 = IPPROTO_TCP,
			       .sport = 40000, .dport = 443, .flags = 0x18, .payload = 100 },
		 &fwd);
	pb_build(&(struct pb){ .ipv = 4, .src = "10.9.0.2", .dst = "10.9.0.1", .l4 = IPPROTO_TCP,
			       .sport = 443, .dport = 40000, .flags = 0x10 },
		 &rev);
	pb_build(&(struct pb){ .ipv = 4, .src = "10.9.0.1", .dst = "10.9.0.2", .l4 = IPPROTO_TCP,
			       .sport = 40001, .dport = 443, .flags = 0x10, .payload = 1000 },
		 &same);

	skel = flowqoe__open();
	if (!skel) {
		TL_FAIL("concurrent", "open: %s", strerror(errno));
		return tl_exit();
	}
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL); /* never touch a running attach's pins */
	skel->rodata->cfg_replay_clock = 0; /* live: the spin lock is taken */
	err = flowqoe__load(skel);
	if (err) {
		TL_FAIL("concurrent", "load: %s", strerror(-err));
		goto out;
	}
	fd = bpf_map__fd(skel->maps.fq_flows);

	prog = bpf_program__fd(skel->progs.fq_xdp);
	err = race_flow("concurrent: both directions", prog, fd, &fwd, &rev, cpus, 40000, &v, &a, &b);
	if (err < 0)
		goto out;
	if (err) {
		int before = tl_failed;

		check_dir("concurrent: both directions, forward", a, n, 20 + 20 + 100, 40, 0x18);
		check_dir("concurrent: both directions, backward", b, n, 40, 40, 0x10);
		TL_CHECK("concurrent: both directions", v.last_ns >= v.first_ns &&
			 v.iat_min <= v.iat_max, "flow-level times inconsistent");
		if (tl_failed == before)
			TL_OK("concurrent: both directions, every count exact");
	}

	err = race_flow("concurrent: one direction", prog, fd, &same, &same, cpus, 40001, &v, &a, &b);
	if (err < 0)
		goto out;
	if (err) {
		int before = tl_failed;

		check_dir("concurrent: one direction", a, 2 * n, 20 + 20 + 1000, 40, 0x10);
		TL_EQ_U64("concurrent: one direction", "other direction's packets", b->packets, 0);
		if (tl_failed == before)
			TL_OK("concurrent: one direction from two CPUs, every count exact");
	}
	{
		const char *nm = "concurrent: interface totals";
		int before = tl_failed;

		TL_EQ_U64(nm, "packets", TOTAL(skel, packets[FQ_HOOK_INGRESS]), 4 * n);
		TL_EQ_U64(nm, "new flows", TOTAL(skel, new_flows), 2);
		TL_EQ_U64(nm, "untracked packets", TOTAL(skel, untracked), 0);
		TL_EQ_U64(nm, "flows refused", TOTAL(skel, flow_full), 0);
		if (tl_failed == before)
			TL_OK("concurrent: interface totals exact, two flows, none untracked");
	}
out:
	flowqoe__destroy(skel);
	return tl_exit();
}
