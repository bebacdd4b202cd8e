// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * replay.c - capture files through the same XDP program attach loads.
 *
 * Every record becomes one BPF_PROG_RUN of fq_xdp with the capture time in
 * the program's clock (.bss fq_clock_ns, cfg_replay_clock).  The program
 * reports in .bss which flow the packet reached and whether it created or
 * closed it; from that, flows are ended by capture time here:
 *   - active timeout: a flow whose first packet is older than the flow
 *     timeout ends before the next packet (flows are created in capture
 *     order, so a FIFO of creations is sorted by first packet time);
 *   - --cic-compat: a TCP FIN ends its flow with that packet (CICFlowMeter);
 *   - default: FIN both ways or RST closes the flow, which ends fin_linger
 *     later (trailing ACKs stay in it), as attach's expiry does;
 *   - end of file: every flow left.
 * With window records on (cfg_win_ns), the ring buffer is drained every few
 * packets and at every tick, and every window still open at the end of the
 * file is ended there, so the records depend on the capture alone.
 */
#include "fq_pcap.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "attach.h"
#include "replay.h"
#include "window.h"
#include "native.h"
#include "flowqoe.skel.h"

/* BPF_PROG_RUN's linear XDP buffer: a page less headroom and
 * skb_shared_info; longer frames go to fq_xdp_replay (fragments) */
#define FQ_REPLAY_LINEAR 3000

/* ---- flows ended by capture time -------------------------------------- */

struct qent {
	struct fq_flow_key key;
	uint64_t first;    /* the flow's first packet: tells a later flow of the same key apart */
	uint64_t deadline;
};

struct queue {
	struct qent *v;
	size_t head, n, cap;
};

static int q_push(struct queue *q, const struct fq_flow_key *k, uint64_t first, uint64_t dl)
{
	if (q->n == q->cap) {
		if (q->head > q->cap / 2) {
			memmove(q->v, q->v + q->head, (q->n - q->head) * sizeof(*q->v));
			q->n -= q->head;
			q->head = 0;
		} else {
			size_t cap = q->cap ? q->cap * 2 : 4096;
			struct qent *t = realloc(q->v, cap * sizeof(*t));

			if (!t)
				return -ENOMEM;
			q->v = t;
			q->cap = cap;
		}
	}
	q->v[q->n].key = *k;
	q->v[q->n].first = first;
	q->v[q->n].deadline = dl;
	q->n++;
	return 0;
}

struct rp {
	const struct fq_replay_opts *o;
	struct fq_replay_stats *st;
	int flows_fd, cic_fd;
	/* the native engine's maps instead of flows_fd, cic_fd (o->native) */
	struct fqn_map *nflows, *ncic;
	struct queue tq, cq; /* timeout queue, close queue */
};

/* End the flow of key k if it is still the one that started at `first`. */
static void end_flow(struct rp *r, const struct fq_flow_key *k, uint64_t first,
		     enum fq_end_reason why)
{
	struct fq_flow_rec rec;
	struct fq_cic c;

	rec.key = *k;
	if (r->nflows) {
		const struct fq_flow *v = fqn_lookup(r->nflows, k);
		const struct fq_cic *nc;

		if (!v || (first && v->first_ns != first))
			return;
		rec.val = *v;
		nc = fqn_lookup(r->ncic, k);
		if (nc)
			c = *nc;
		else
			memset(&c, 0, sizeof(c));
		fqn_delete(r->nflows, k);
		fqn_delete(r->ncic, k);
	} else {
		if (bpf_map_lookup_elem(r->flows_fd, k, &rec.val))
			return;
		if (first && rec.val.first_ns != first)
			return;
		if (bpf_map_lookup_elem_flags(r->cic_fd, k, &c, BPF_F_LOCK))
			memset(&c, 0, sizeof(c));
		bpf_map_delete_elem(r->flows_fd, k);
		bpf_map_delete_elem(r->cic_fd, k);
	}
	if (why == FQ_END_FIN && rec.val.rst_seen && !(rec.val.fin_seen))
		why = FQ_END_RST;
	r->st->flows++;
	if (r->o->on_flow)
		r->o->on_flow(r->o->ctx, &rec, &c, why);
}

static void expire(struct rp *r, uint64_t now)
{
	while (r->tq.head < r->tq.n && r->tq.v[r->tq.head].deadline < now) {
		struct qent *e = &r->tq.v[r->tq.head++];

		end_flow(r, &e->key, e->first, FQ_END_ACTIVE);
	}
	while (r->cq.head < r->cq.n && r->cq.v[r->cq.head].deadline < now) {
		struct qent *e = &r->cq.v[r->cq.head++];

		end_flow(r, &e->key, e->first, FQ_END_FIN);
	}
}

static int cmp_first(const void *a, const void *b, void *arg)
{
	const struct fq_flowtab *t = arg;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;

	if (t->vals[i].first_ns != t->vals[j].first_ns)
		return t->vals[i].first_ns < t->vals[j].first_ns ? -1 : 1;
	return memcmp(&t->keys[i], &t->keys[j], sizeof(t->keys[i]));
}

/* the native engine's table as a struct fq_flowtab (keys and values) */
static long native_flowtab(struct fq_flowtab *t, struct fqn_map *m)
{
	uint32_t n = fqn_map_count(m);
	void *it = NULL, *k, *v;
	long i = 0;

	/* mapped as fq_flowtab's own arrays are, for fq_flowtab_free */
	memset(t, 0, sizeof(*t));
	t->cap = n ? n : 1;
	t->keys = mmap(NULL, t->cap * sizeof(*t->keys), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t->vals = mmap(NULL, t->cap * sizeof(*t->vals), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t->keys == MAP_FAILED)
		t->keys = NULL;
	if (t->vals == MAP_FAILED)
		t->vals = NULL;
	if (!t->keys || !t->vals)
		return -ENOMEM;
	while (i < n && fqn_next(m, &it, &k, &v) == 0) {
		memcpy(&t->keys[i], k, sizeof(t->keys[i]));
		memcpy(&t->vals[i], v, sizeof(t->vals[i]));
		i++;
	}
	return i;
}

static void flush_all(struct rp *r)
{
	struct fq_flowtab tab;
	long n = r->nflows ? native_flowtab(&tab, r->nflows) : fq_flowtab_read_fd(&tab, r->flows_fd);
	uint32_t *idx = n < 0 ? NULL : malloc((n ? n : 1) * sizeof(*idx));

	if (!idx) {
		fq_err("reading the flow table: %s", strerror(n < 0 ? (int)-n : ENOMEM));
		fq_flowtab_free(&tab);
		return;
	}
	for (long i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_first, &tab);
	for (long i = 0; i < n; i++)
		end_flow(r, &tab.keys[idx[i]], 0, FQ_END_EXIT);
	free(idx);
	fq_flowtab_free(&tab);
}

/* ---- window records ---------------------------------------------------- */

static int on_winrec(void *ctx, void *data, size_t len)
{
	struct rp *r = ctx;

	if (len < sizeof(struct fq_win_rec))
		return 0;
	r->st->win_records++;
	r->o->on_win(r->o->win_ctx, data);
	return 0;
}

struct winvec {
	struct fq_win_rec *v;
	size_t n, cap;
	bool oom;
};

static void collect_win(void *ctx, const struct fq_win_rec *r)
{
	struct winvec *w = ctx;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 1024;
		struct fq_win_rec *t = realloc(w->v, cap * sizeof(*t));

		if (!t) {
			w->oom = true;
			return;
		}
		w->v = t;
		w->cap = cap;
	}
	w->v[w->n++] = *r;
}

static int cmp_win(const void *a, const void *b)
{
	const struct fq_win_rec *x = a, *y = b;

	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

/* End every open window, in an order that does not depend on the hash
 * map's (randomly seeded) iteration order. */
static int flush_windows(struct rp *r, int conv_fd, struct fqn_map *nconv)
{
	struct winvec w = {};

	if (nconv) {
		/* as fq_win_flush(fd, 0, true, ...): every window with packets */
		void *it = NULL, *k, *v;

		while (fqn_next(nconv, &it, &k, &v) == 0) {
			const struct fq_conv *c = v;

			if (c->w.dir[0].packets || c->w.dir[1].packets)
				collect_win(&w, &c->w);
			fqn_delete(nconv, k);
		}
	} else {
		fq_win_flush(conv_fd, 0, true, collect_win, &w);
	}
	if (w.oom) {
		fq_err("no memory for the last windows of the capture");
		free(w.v);
		return -1;
	}
	qsort(w.v, w.n, sizeof(*w.v), cmp_win);
	for (size_t i = 0; i < w.n; i++) {
		r->st->win_records++;
		r->o->on_win(r->o->win_ctx, &w.v[i]);
	}
	free(w.v);
	return 0;
}

static void read_winctr(int fd, struct fqn_map *nctr, struct fq_replay_stats *st)
{
	int ncpu = libbpf_num_possible_cpus();

	if (nctr) {
		__u32 k = 0;
		const uint64_t *v = fqn_lookup(nctr, &k);

		if (v) {
			st->win_lost += v[1];
			st->win_conv_full += v[2];
		}
		return;
	}
	uint64_t (*v)[3];
	__u32 k = 0;

	if (ncpu <= 0)
		return;
	v = calloc(ncpu, sizeof(*v));
	if (v && bpf_map_lookup_elem(fd, &k, v) == 0)
		for (int c = 0; c < ncpu; c++) {
			st->win_lost += v[c][1];
			st->win_conv_full += v[c][2];
		}
	free(v);
}

/* the native engine's ring buffer: records as they close */
static void native_rec(void *ctx, void *data, size_t len)
{
	struct rp *r = ctx;

	if (r->o->on_win)
		on_winrec(ctx, data, len);
}

/* ---- the file --------------------------------------------------------- */

static struct flowqoe *load_skel(const struct fq_replay_opts *o, unsigned int max_flows)
{
	struct flowqoe *skel;
	struct bpf_map *m;
	int err;

	skel = flowqoe__open();
	if (!skel) {
		fq_err("opening the BPF object failed: %s", strerror(errno));
		return NULL;
	}
	/* a replay owns its maps: nothing pinned, nothing shared with attach */
	bpf_object__for_each_map(m, skel->obj)
		bpf_map__set_pin_path(m, NULL);
	/* only the XDP programs run here: verifying the tc twins would add
	 * ~0.2 s to every replay (measured with strace -T) */
	bpf_program__set_autoload(skel->progs.fq_tc_egress, false);
	bpf_program__set_autoload(skel->progs.fq_tc_ingress, false);
	skel->rodata->cfg_replay_clock = 1;
	skel->rodata->cfg_cic = 1;
	skel->rodata->cfg_cic_act_ns = o->act_timeout_ns;
	/* sized for the largest capture, allocated as flows appear */
	bpf_map__set_max_entries(skel->maps.fq_flows, max_flows);
	bpf_map__set_max_entries(skel->maps.fq_cic, max_flows);
	bpf_map__set_map_flags(skel->maps.fq_flows, BPF_F_NO_PREALLOC);
	bpf_map__set_map_flags(skel->maps.fq_cic, BPF_F_NO_PREALLOC);
	if (o->win_ns) {
		/* conversations stay for the whole capture: room for one per flow */
		skel->rodata->cfg_win_ns = o->win_ns;
		bpf_map__set_max_entries(skel->maps.fq_conv, max_flows);
		bpf_map__set_map_flags(skel->maps.fq_conv, BPF_F_NO_PREALLOC);
	}
	err = flowqoe__load(skel);
	if (err) {
		fq_err("loading the BPF programs failed: %s (%s)%s", strerror(-err),
		       fq_libbpf_last_warning(),
		       err == -EPERM ? ": replay runs the datapath with BPF_PROG_RUN and needs root (CAP_BPF, CAP_SYS_ADMIN); --engine native needs none" : "");
		flowqoe__destroy(skel);
		return NULL;
	}
	return skel;
}

int fq_replay_file(const char *path, const struct fq_replay_opts *o, struct fq_replay_stats *st)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct flowqoe *skel = NULL;
	struct rp r = { .o = o, .st = st };
	uint8_t *frame_mem = NULL, *frame;
	uint64_t prev_ts = 0, next_tick = 0;
	struct ring_buffer *rb = NULL;
	unsigned int since_drain = 0;
	bool win = o->win_ns && o->on_win;
	struct timespec t0, t1;
	bool native_open = false;
	int lt, prog_fd, big_fd, ret = -1, rc;
	pcap_t *pc;

	memset(st, 0, sizeof(*st));
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fq_err("%s: %s", path, errbuf);
		return -1;
	}
	lt = pcap_datalink(pc);
	if (fq_replay_linktype_ok(lt)) {
		const char *n = pcap_datalink_val_to_name(lt);

		fq_err("%s: link type %d (%s) is not supported (Ethernet, raw IPv4/IPv6, Linux SLL/SLL2, BSD loopback are)",
		       path, lt, n ? n : "unknown");
		goto out;
	}
	/* 2 bytes in (NET_IP_ALIGN), so that the IP header after a 14-byte
	 * Ethernet header is 4-byte aligned, as the C of the native engine
	 * wants it (the kernel engine copies the frame anyway) */
	frame_mem = malloc(FQ_REPLAY_MAX_FRAME + 2);
	if (!frame_mem)
		goto out;
	frame = frame_mem + 2;
	if (o->native) {
		struct fqn_cfg nc = {
			.max_flows = o->max_flows ? o->max_flows : 1u << 18,
			.win_ns = o->win_ns,
			.act_ns = o->act_timeout_ns,
			.on_rec = native_rec,
			.ctx = &r,
		};
		int err = fqn_open(&nc);

		if (err) {
			fq_err("native engine: %s", strerror(-err));
			goto out;
		}
		native_open = true;
		r.nflows = fqn_map_by_name("fq_flows");
		r.ncic = fqn_map_by_name("fq_cic");
		prog_fd = big_fd = -1;
	} else {
		skel = load_skel(o, o->max_flows ? o->max_flows : 1u << 18);
		if (!skel)
			goto out;
		prog_fd = bpf_program__fd(skel->progs.fq_xdp);
		big_fd = bpf_program__fd(skel->progs.fq_xdp_replay);
		r.flows_fd = bpf_map__fd(skel->maps.fq_flows);
		r.cic_fd = bpf_map__fd(skel->maps.fq_cic);
	}
	if (win && !o->native) {
		rb = ring_buffer__new(bpf_map__fd(skel->maps.fq_winrb), on_winrec, &r, NULL);
		if (!rb) {
			fq_err("window ring buffer: %s", strerror(errno));
			goto out;
		}
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, tr);
		enum fq_replay_skip why;
		const struct fq_flow_key *evkey;
		struct fqn_event nev;
		uint64_t ts, evfirst;
		uint32_t ev;
		long fl;

		st->packets++;
		st->bytes += h->len;
		ts = (uint64_t)h->ts.tv_sec * 1000000000ULL + (uint64_t)h->ts.tv_usec;
		if (ts < prev_ts) {
			if (!st->ts_backwards)
				fq_warn("%s: packet %llu: timestamp goes backwards by %.6f s (counted; IATs of 0)",
					path, (unsigned long long)st->packets, (prev_ts - ts) / 1e9);
			st->ts_backwards++;
		} else {
			prev_ts = ts;
		}
		fl = fq_replay_frame(lt, data, h->caplen, h->len, frame, &why);
		if (fl < 0) {
			if (why == FQ_SKIP_EMPTY)
				st->skip_empty++;
			else
				st->skip_link++;
			continue;
		}
		if (h->caplen < h->len)
			st->snap_padded++;
		expire(&r, ts);
		if (win && o->on_tick && o->tick_ns && ts >= next_tick) {
			/* every record closed before ts first, so what the tick
			 * does depends on capture time alone */
			if (rb)
				ring_buffer__consume(rb);
			since_drain = 0;
			if (next_tick)
				o->on_tick(o->win_ctx, ts);
			next_tick = ts + o->tick_ns;
		}
		if (o->native) {
			fqn_run(frame, fl, ts, &nev);
			st->run++;
			ev = nev.ev;
			evkey = &nev.key;
			evfirst = nev.first;
			goto event;
		}
		skel->bss->fq_clock_ns = ts;
		skel->bss->fq_cic_ev = 0;
		tr.data_in = frame;
		tr.data_size_in = fl;
		/* fq_xdp itself for what fits in one page (the common case) */
		if (bpf_prog_test_run_opts(fl > FQ_REPLAY_LINEAR ? big_fd : prog_fd, &tr)) {
			if (errno == EINVAL && fl > 1500) {
				if (!st->skip_big)
					fq_warn("%s: packet %llu: %ld bytes is more than BPF_PROG_RUN takes (counted, skipped)",
						path, (unsigned long long)st->packets, fl);
				st->skip_big++;
				continue;
			}
			fq_err("%s: packet %llu: BPF_PROG_RUN failed: %s", path,
			       (unsigned long long)st->packets, strerror(errno));
			goto out;
		}
		st->run++;
		st->prog_ns += tr.duration;
		/* at most one record a packet: FQ_REPLAY_WIN_DRAIN of them is
		 * a small part of the ring (~20k records) */
		if (rb && ++since_drain >= FQ_REPLAY_WIN_DRAIN) {
			ring_buffer__consume(rb);
			since_drain = 0;
		}
		ev = skel->bss->fq_cic_ev;
		evkey = &skel->bss->fq_cic_key;
		evfirst = skel->bss->fq_cic_first;
event:
		if (!(ev & FQ_CIC_EV_SEEN))
			continue;
		if (ev & FQ_CIC_EV_NEW) {
			if (q_push(&r.tq, evkey, evfirst, evfirst + o->flow_timeout_ns))
				goto out;
			continue;
		}
		if (o->cic_compat) {
			if (ev & FQ_CIC_EV_FIN)
				end_flow(&r, evkey, 0, FQ_END_FIN);
		} else if (ev & FQ_CIC_EV_CLOSE) {
			if (q_push(&r.cq, evkey, evfirst, ts + o->fin_linger_ns))
				goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->run_s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	flush_all(&r);
	if (win && o->native) {
		if (flush_windows(&r, -1, fqn_map_by_name("fq_conv")))
			goto out;
		read_winctr(-1, fqn_map_by_name("fq_winctr"), st);
	} else if (win) {
		ring_buffer__consume(rb);
		if (flush_windows(&r, bpf_map__fd(skel->maps.fq_conv), NULL))
			goto out;
		read_winctr(bpf_map__fd(skel->maps.fq_winctr), NULL, st);
	}
	if (o->native) {
		__u32 zero = 0;
		const struct fq_totals *t = fqn_lookup(fqn_map_by_name("fq_totals"), &zero);

		if (t) {
			st->parse_errors = t->parse_errors;
			st->untracked = t->untracked;
		}
	} else {
		struct fq_totals t;

		if (fq_totals_read(bpf_map__fd(skel->maps.fq_totals), &t) == 0) {
			st->parse_errors = t.parse_errors;
			st->untracked = t.untracked;
		}
	}
	if (rc == -1) {
		/* libpcap: truncated record, bad record length, ... */
		fq_err("%s: packet %llu: %s (the %llu packets before it were replayed)", path,
		       (unsigned long long)st->packets + 1, pcap_geterr(pc),
		       (unsigned long long)st->packets);
		goto out;
	}
	ret = 0;
out:
	ring_buffer__free(rb);
	free(r.tq.v);
	free(r.cq.v);
	free(frame_mem);
	flowqoe__destroy(skel);
	if (native_open)
		fqn_close();
	pcap_close(pc);
	return ret;
}
