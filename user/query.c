// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Sliding-window query engine; the data layout and the definitions are in
 * query.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "appproto.h"
#include "query.h"

/* ---- open-addressing index ---------------------------------------------
 * Slots hold entry index + 1 (0 = empty); entries live in the caller's array
 * so their indexes stay stable (cells refer to keys by index).  Linear
 * probing with backward-shift deletion: no tombstones, so lookups stay short
 * however many keys come and go. */
struct ht {
	uint32_t *slot;
	uint32_t mask;
	uint32_t n;
};

static uint64_t hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, b, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 32;
		b += 8;
		len -= 8;
	}
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, b, 4);
		h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
		h ^= h >> 29;
		b += 4;
		len -= 4;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

struct ht_ops {
	const void *(*key)(const void *ctx, uint32_t idx);
	size_t keysz;
	const void *ctx;
};

static int ht_init(struct ht *t, uint32_t cap)
{
	uint32_t c = 64;

	while (c < cap)
		c <<= 1;
	t->slot = calloc(c, sizeof(uint32_t));
	if (!t->slot)
		return -ENOMEM;
	t->mask = c - 1;
	t->n = 0;
	return 0;
}

static int64_t ht_find(const struct ht *t, const struct ht_ops *o, const void *key, uint64_t h)
{
	for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
		uint32_t s = t->slot[i];

		if (!s)
			return -1;
		if (!memcmp(o->key(o->ctx, s - 1), key, o->keysz))
			return s - 1;
	}
}

static void ht_put(struct ht *t, uint32_t idx, uint64_t h)
{
	uint32_t i = h & t->mask;

	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = idx + 1;
	t->n++;
}

/* keep the load factor under 1/2; entries' keys come from o */
static int ht_grow(struct ht *t, const struct ht_ops *o)
{
	uint32_t oldcap = t->mask + 1, *old = t->slot;
	struct ht nt;

	if ((uint64_t)(t->n + 1) * 2 <= oldcap)
		return 0;
	if (ht_init(&nt, oldcap * 2))
		return -ENOMEM;
	for (uint32_t i = 0; i < oldcap; i++)
		if (old[i])
			ht_put(&nt, old[i] - 1, hash_bytes(o->key(o->ctx, old[i] - 1), o->keysz));
	free(old);
	*t = nt;
	return 0;
}

static void ht_del(struct ht *t, const struct ht_ops *o, uint32_t idx, uint64_t h)
{
	uint32_t i = h & t->mask, j;

	while (t->slot[i] != idx + 1)
		i = (i + 1) & t->mask;
	t->slot[i] = 0;
	t->n--;
	/* backward shift: move later entries of the cluster into the hole if
	 * their home slot does not lie cyclically in (i, j] */
	for (j = (i + 1) & t->mask; t->slot[j]; j = (j + 1) & t->mask) {
		uint32_t home = hash_bytes(o->key(o->ctx, t->slot[j] - 1), o->keysz) & t->mask;
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);

		if (!between) {
			t->slot[i] = t->slot[j];
			t->slot[j] = 0;
			i = j;
		}
	}
}

/* ---- store --------------------------------------------------------------- */

struct qcell {
	uint32_t key;
	uint32_t pkts;
	uint64_t bytes;
};

struct qbucket {
	uint64_t sec;
	uint64_t tot_bytes, tot_pkts;
	struct qcell *c;
	uint32_t n, cap;
};

struct qent {
	struct fq_qkey key;   /* first: the index compares it */
	uint8_t live;
	uint8_t pad[3];
	uint32_t cur_cell;    /* cell of cur_sec in its bucket */
	uint64_t cur_sec;     /* latest second with a cell (merge target) */
	uint64_t win_bytes, win_pkts;
};

struct fq_qstore {
	unsigned span, window;
	uint64_t now;
	bool started;
	struct qbucket *b;
	uint64_t tot_bytes, tot_pkts; /* in the window */
	struct qent *e;
	uint32_t ne, cap_e;           /* entries used (live or free) / allocated */
	uint32_t *freel;
	uint32_t nfree;
	struct ht ht;
	size_t cells, max_keys, max_cells;
	uint64_t dropped_deltas, dropped_bytes;
	uint64_t late_deltas;
};

static const void *ent_key(const void *ctx, uint32_t idx)
{
	const struct fq_qstore *st = ctx;

	return &st->e[idx].key;
}

#define OPS(st) (&(struct ht_ops){ .key = ent_key, .keysz = sizeof(struct fq_qkey), .ctx = (st) })

struct fq_qstore *fq_qstore_new(unsigned span, unsigned window, size_t max_keys, size_t max_cells)
{
	struct fq_qstore *st;

	if (span < 1 || span > FQ_QUERY_SPAN_MAX || window < 1 || window > span || max_keys < 1 ||
	    max_keys > UINT32_MAX / 4) {
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->span = span;
	st->window = window;
	st->max_keys = max_keys;
	st->max_cells = max_cells;
	st->b = calloc(span, sizeof(*st->b));
	if (!st->b || ht_init(&st->ht, 1024)) {
		fq_qstore_free(st);
		errno = ENOMEM;
		return NULL;
	}
	return st;
}

void fq_qstore_free(struct fq_qstore *st)
{
	if (!st)
		return;
	for (unsigned i = 0; st->b && i < st->span; i++)
		free(st->b[i].c);
	free(st->b);
	free(st->e);
	free(st->freel);
	free(st->ht.slot);
	free(st);
}

static bool in_ring(const struct fq_qstore *st, uint64_t sec)
{
	return st->started && sec <= st->now && sec + st->span > st->now;
}

static bool in_window(const struct fq_qstore *st, uint64_t sec, unsigned w)
{
	return st->started && sec <= st->now && sec + w > st->now;
}

static struct qbucket *bucket(struct fq_qstore *st, uint64_t sec)
{
	return &st->b[sec % st->span];
}

/* Bucket of a second in the ring, claimed if it still carries an older
 * second: that happens only for seconds before the first one seen or after
 * a jump cleared the ring, and such buckets are empty. */
static struct qbucket *bucket_claim(struct fq_qstore *st, uint64_t sec)
{
	struct qbucket *b = bucket(st, sec);

	if (b->sec != sec) {
		b->sec = sec;
		b->n = 0;
		b->tot_bytes = b->tot_pkts = 0;
	}
	return b;
}

static void key_del(struct fq_qstore *st, uint32_t idx)
{
	struct qent *e = &st->e[idx];

	ht_del(&st->ht, OPS(st), idx, hash_bytes(&e->key, sizeof(e->key)));
	e->live = 0;
	st->freel[st->nfree++] = idx;
}

static void drop_all(struct fq_qstore *st)
{
	for (unsigned i = 0; i < st->span; i++) {
		st->b[i].n = 0;
		st->b[i].tot_bytes = st->b[i].tot_pkts = 0;
	}
	memset(st->ht.slot, 0, (st->ht.mask + 1) * sizeof(uint32_t));
	st->ht.n = 0;
	st->ne = 0;
	st->nfree = 0;
	st->cells = 0;
	st->tot_bytes = st->tot_pkts = 0;
}

static void bucket_sub(struct fq_qstore *st, struct qbucket *b)
{
	for (uint32_t i = 0; i < b->n; i++) {
		struct qent *e = &st->e[b->c[i].key];

		e->win_bytes -= b->c[i].bytes;
		e->win_pkts -= b->c[i].pkts;
	}
	st->tot_bytes -= b->tot_bytes;
	st->tot_pkts -= b->tot_pkts;
}

void fq_qstore_advance(struct fq_qstore *st, uint64_t sec)
{
	if (!st->started) {
		st->started = true;
		st->now = sec;
		bucket(st, sec)->sec = sec;
		return;
	}
	if (sec <= st->now)
		return;
	if (sec - st->now >= st->span) {
		drop_all(st);
		st->now = sec;
		for (unsigned i = 0; i < st->span; i++)
			st->b[i].sec = sec; /* only b[sec % span] is in the ring */
		return;
	}
	for (uint64_t s = st->now + 1; s <= sec; s++) {
		struct qbucket *b;

		/* the second s - window leaves the window */
		if (s >= st->window && in_ring(st, s - st->window) && bucket(st, s - st->window)->sec == s - st->window)
			bucket_sub(st, bucket(st, s - st->window));
		/* the bucket of s - span leaves the ring: keys with nothing newer go */
		b = bucket(st, s);
		if (b->sec + st->span == s) {
			for (uint32_t i = 0; i < b->n; i++) {
				struct qent *e = &st->e[b->c[i].key];

				if (e->live && e->cur_sec <= b->sec)
					key_del(st, b->c[i].key);
			}
			st->cells -= b->n;
		}
		b->n = 0;
		b->tot_bytes = b->tot_pkts = 0;
		b->sec = s;
		st->now = s;
	}
}

static int64_t key_get(struct fq_qstore *st, const struct fq_qkey *k)
{
	uint64_t h = hash_bytes(k, sizeof(*k));
	int64_t idx = ht_find(&st->ht, OPS(st), k, h);
	struct qent *e;

	if (idx >= 0)
		return idx;
	if (st->ht.n >= st->max_keys)
		return -ENOSPC;
	if (st->nfree) {
		idx = st->freel[--st->nfree];
	} else {
		if (st->ne == st->cap_e) {
			uint32_t nc = st->cap_e ? st->cap_e * 2 : 1024;
			struct qent *ne = realloc(st->e, nc * sizeof(*ne));
			uint32_t *nf;

			if (!ne)
				return -ENOMEM;
			st->e = ne;
			nf = realloc(st->freel, nc * sizeof(*nf));
			if (!nf)
				return -ENOMEM;
			st->freel = nf;
			st->cap_e = nc;
		}
		idx = st->ne++;
	}
	e = &st->e[idx];
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->live = 1;
	e->cur_sec = UINT64_MAX; /* no cell yet */
	if (ht_grow(&st->ht, OPS(st))) {
		e->live = 0;
		st->freel[st->nfree++] = idx;
		return -ENOMEM;
	}
	ht_put(&st->ht, idx, h);
	return idx;
}

static void drop(struct fq_qstore *st, uint64_t bytes)
{
	st->dropped_deltas++;
	st->dropped_bytes += bytes;
}

int fq_qstore_add(struct fq_qstore *st, uint64_t sec, const struct fq_qkey *k, uint64_t bytes,
		  uint64_t pkts)
{
	struct qbucket *b;
	struct qent *e;
	int64_t idx;

	fq_qstore_advance(st, sec);
	if (!in_ring(st, sec)) {
		/* older than the ring: in no window the store can answer */
		st->late_deltas++;
		return 0;
	}
	b = bucket_claim(st, sec);
	idx = key_get(st, k);
	if (idx < 0) {
		drop(st, bytes);
		return -ENOSPC;
	}
	e = &st->e[idx];
	if (e->cur_sec == sec && e->cur_cell < b->n && b->c[e->cur_cell].key == idx) {
		b->c[e->cur_cell].bytes += bytes;
		b->c[e->cur_cell].pkts += pkts;
	} else {
		if (st->cells >= st->max_cells || (b->n == b->cap && !(st->cells < st->max_cells))) {
			if (e->cur_sec == UINT64_MAX)
				key_del(st, idx);
			drop(st, bytes);
			return -ENOSPC;
		}
		if (b->n == b->cap) {
			uint32_t nc = b->cap ? b->cap * 2 : 64;
			struct qcell *c = realloc(b->c, (size_t)nc * sizeof(*c));

			if (!c) {
				if (e->cur_sec == UINT64_MAX)
					key_del(st, idx);
				drop(st, bytes);
				return -ENOSPC;
			}
			b->c = c;
			b->cap = nc;
		}
		b->c[b->n] = (struct qcell){ .key = idx, .pkts = pkts, .bytes = bytes };
		if (e->cur_sec == UINT64_MAX || sec >= e->cur_sec) {
			e->cur_sec = sec;
			e->cur_cell = b->n;
		}
		b->n++;
		st->cells++;
	}
	if (in_window(st, sec, st->window)) {
		e->win_bytes += bytes;
		e->win_pkts += pkts;
	}
	return 0;
}

void fq_qstore_add_total(struct fq_qstore *st, uint64_t sec, uint64_t bytes, uint64_t pkts)
{
	struct qbucket *b;

	fq_qstore_advance(st, sec);
	if (!in_ring(st, sec))
		return;
	b = bucket_claim(st, sec);
	b->tot_bytes += bytes;
	b->tot_pkts += pkts;
	if (in_window(st, sec, st->window)) {
		st->tot_bytes += bytes;
		st->tot_pkts += pkts;
	}
}

/* Sums over the last w seconds into per-entry arrays (or the entries' own
 * window sums when bytes == NULL). */
static void window_sums(struct fq_qstore *st, unsigned w, uint64_t *bytes, uint64_t *pkts,
			uint64_t *tb, uint64_t *tp)
{
	*tb = *tp = 0;
	if (!st->started)
		return;
	for (unsigned i = 0; i < w && i <= st->now; i++) {
		uint64_t s = st->now - i;
		struct qbucket *b = bucket(st, s);

		if (b->sec != s)
			continue;
		*tb += b->tot_bytes;
		*tp += b->tot_pkts;
		for (uint32_t j = 0; j < b->n; j++) {
			if (bytes) {
				bytes[b->c[j].key] += b->c[j].bytes;
				pkts[b->c[j].key] += b->c[j].pkts;
			} else {
				st->e[b->c[j].key].win_bytes += b->c[j].bytes;
				st->e[b->c[j].key].win_pkts += b->c[j].pkts;
			}
		}
	}
}

int fq_qstore_set_window(struct fq_qstore *st, unsigned window)
{
	if (window < 1 || window > st->span)
		return -EINVAL;
	if (window == st->window)
		return 0;
	st->window = window;
	for (uint32_t i = 0; i < st->ne; i++)
		st->e[i].win_bytes = st->e[i].win_pkts = 0;
	window_sums(st, window, NULL, NULL, &st->tot_bytes, &st->tot_pkts);
	return 0;
}

void fq_qstore_stats(const struct fq_qstore *st, struct fq_qstore_stats *s)
{
	size_t mem = sizeof(*st) + st->span * sizeof(*st->b) + (size_t)st->cap_e * (sizeof(*st->e) + 4) +
		     (st->ht.mask + 1) * sizeof(uint32_t);

	for (unsigned i = 0; i < st->span; i++)
		mem += (size_t)st->b[i].cap * sizeof(struct qcell);
	*s = (struct fq_qstore_stats){
		.now = st->now, .span = st->span, .window = st->window, .keys = st->ht.n,
		.cells = st->cells, .mem_bytes = mem, .max_keys = st->max_keys,
		.max_cells = st->max_cells, .dropped_deltas = st->dropped_deltas,
		.dropped_bytes = st->dropped_bytes, .late_deltas = st->late_deltas,
	};
}

/* ---- evaluation ---------------------------------------------------------- */

const char *fq_qby_str(enum fq_qby by)
{
	return by == FQ_BY_IP ? "ip" : "proto";
}

const char *fq_qkind_str(enum fq_qkind kind)
{
	return kind == FQ_Q_PERCENT ? "above_percent" : kind == FQ_Q_TOP ? "top" : "above_sigma";
}

int fq_qby_parse(const char *s, enum fq_qby *by)
{
	if (!strcmp(s, "proto") || !strcmp(s, "protocol"))
		*by = FQ_BY_PROTO;
	else if (!strcmp(s, "ip") || !strcmp(s, "host"))
		*by = FQ_BY_IP;
	else
		return -EINVAL;
	return 0;
}

const char *fq_qkey_str(const struct fq_qkey *k, char *buf, size_t len)
{
	if (k->kind == FQ_QK_APP) {
		uint32_t id = (uint32_t)k->b[0] << 24 | k->b[1] << 16 | k->b[2] << 8 | k->b[3];

		return fq_appproto_name(id, buf, len);
	}
	fq_addr_str(k->b, k->kind, buf, len);
	return buf;
}

/* bytes descending, then key ascending */
static int row_cmp(const void *a, const void *b)
{
	const struct fq_qrow *x = a, *y = b;
	int c;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	c = memcmp(x->key.b, y->key.b, sizeof(x->key.b));
	if (c)
		return c;
	return (int)x->key.kind - (int)y->key.kind;
}

/* min-heap on row_cmp order (the root is the worst row kept) */
static void heap_down(struct fq_qrow *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;

		if (l < n && row_cmp(&h[l], &h[w]) > 0)
			w = l;
		if (r < n && row_cmp(&h[r], &h[w]) > 0)
			w = r;
		if (w == i)
			return;
		struct fq_qrow t = h[i];
		h[i] = h[w];
		h[w] = t;
		i = w;
	}
}

void fq_qresult_free(struct fq_qresult *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
}

/* The keys of a window with their sums, mean and sigma; filled into out
 * (rows malloc'ed, all keys, unordered). */
static int gather(struct fq_qstore *st, unsigned window, struct fq_qresult *out)
{
	uint64_t *wb = NULL, *wp = NULL, tb, tp;
	struct fq_qrow *rows;
	size_t n = 0;
	long double sum = 0, ss = 0, mean = 0;

	memset(out, 0, sizeof(*out));
	if (window == 0)
		window = st->window;
	if (window > st->span)
		return -EINVAL;
	out->window = window;
	out->now = st->now;
	out->complete = st->dropped_deltas == 0;
	if (window == st->window) {
		tb = st->tot_bytes;
		tp = st->tot_pkts;
	} else {
		wb = calloc(st->ne + 1, sizeof(*wb));
		wp = calloc(st->ne + 1, sizeof(*wp));
		if (!wb || !wp) {
			free(wb);
			free(wp);
			return -ENOMEM;
		}
		window_sums(st, window, wb, wp, &tb, &tp);
	}
	out->total_bytes = tb;
	out->total_pkts = tp;
	rows = malloc((st->ht.n + 1) * sizeof(*rows));
	if (!rows) {
		free(wb);
		free(wp);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < st->ne; i++) {
		const struct qent *e = &st->e[i];
		uint64_t b, p;

		if (!e->live)
			continue;
		b = wb ? wb[i] : e->win_bytes;
		p = wb ? wp[i] : e->win_pkts;
		if (!b && !p)
			continue;
		rows[n].key = e->key;
		rows[n].bytes = b;
		rows[n].pkts = p;
		sum += b;
		n++;
	}
	free(wb);
	free(wp);
	out->nkeys = n;
	if (n) {
		mean = sum / n;
		/* two passes: the textbook one-pass formula loses digits */
		for (size_t i = 0; i < n; i++)
			ss += (rows[i].bytes - mean) * (rows[i].bytes - mean);
		out->sigma = (double)sqrtl(ss / n);
	}
	out->mean = (double)mean;
	out->rows = rows;
	out->n = n;
	return 0;
}

static bool param_ok(enum fq_qkind kind, double param)
{
	return isfinite(param) && !(kind == FQ_Q_PERCENT && (param < 0 || param > 100)) &&
	       !(kind == FQ_Q_TOP && (param < 0 || param > 1e9));
}

/*
 * One query from gathered keys g into out.  The threshold queries copy the
 * keys that pass; top works in place on g->rows when in_place (g is then
 * spent), else on a copy.
 */
static int select_rows(const struct fq_qresult *g, enum fq_qkind kind, double param, bool in_place,
		       struct fq_qresult *out)
{
	const struct fq_qrow *src = g->rows;
	struct fq_qrow *rows;
	size_t n = g->nkeys, m = 0;
	long double mean = g->mean, sigma = g->sigma;

	*out = *g;
	out->rows = NULL;
	out->n = 0;
	out->kind = kind;
	out->param = param;
	if (kind == FQ_Q_TOP && in_place) {
		rows = g->rows;
	} else {
		rows = malloc((n + 1) * sizeof(*rows));
		if (!rows)
			return -ENOMEM;
		if (kind == FQ_Q_TOP)
			memcpy(rows, src, n * sizeof(*rows));
	}
	switch (kind) {
	case FQ_Q_PERCENT:
		out->threshold = (double)((long double)param * g->total_bytes / 100);
		for (size_t i = 0; i < n; i++)
			if ((long double)src[i].bytes * 100 > (long double)param * g->total_bytes)
				rows[m++] = src[i];
		qsort(rows, m, sizeof(*rows), row_cmp);
		break;
	case FQ_Q_SIGMA:
		out->threshold = (double)(mean + (long double)param * sigma);
		if (sigma > 0)
			for (size_t i = 0; i < n; i++)
				if ((long double)src[i].bytes > mean + (long double)param * sigma)
					rows[m++] = src[i];
		qsort(rows, m, sizeof(*rows), row_cmp);
		break;
	case FQ_Q_TOP: {
		size_t k = (size_t)param;

		if (k >= n) {
			m = n;
		} else if (k > 0) {
			/* keep the best k in a heap whose root is the worst kept */
			for (size_t i = k / 2; i-- > 0;)
				heap_down(rows, k, i);
			for (size_t i = k; i < n; i++)
				if (row_cmp(&rows[i], &rows[0]) < 0) {
					rows[0] = rows[i];
					heap_down(rows, k, 0);
				}
			m = k;
		}
		qsort(rows, m, sizeof(*rows), row_cmp);
		break;
	}
	}
	out->n = m;
	out->rows = rows;
	return 0;
}

int fq_qstore_eval(struct fq_qstore *st, enum fq_qkind kind, double param, unsigned window,
		   struct fq_qresult *out)
{
	struct fq_qresult g;
	int err;

	memset(out, 0, sizeof(*out));
	if (!param_ok(kind, param))
		return -EINVAL;
	err = gather(st, window, &g);
	if (err)
		return err;
	err = select_rows(&g, kind, param, true, out);
	if (kind != FQ_Q_TOP || err)
		free(g.rows);
	return err;
}

json_t *fq_qresult_json(const struct fq_qresult *r, int64_t epoch_off_s)
{
	json_t *o = json_object(), *arr = json_array();
	char buf[64];

	json_object_set_new(o, "by", json_string(fq_qby_str(r->by)));
	json_object_set_new(o, "query", json_string(fq_qkind_str(r->kind)));
	if (r->kind == FQ_Q_TOP)
		json_object_set_new(o, "k", json_integer((json_int_t)r->param));
	else
		json_object_set_new(o, r->kind == FQ_Q_PERCENT ? "H" : "X", json_real(r->param));
	json_object_set_new(o, "window", json_integer(r->window));
	json_object_set_new(o, "end", json_integer((json_int_t)(r->now + epoch_off_s)));
	json_object_set_new(o, "total_bytes", json_integer(r->total_bytes));
	json_object_set_new(o, "total_packets", json_integer(r->total_pkts));
	json_object_set_new(o, "keys", json_integer(r->nkeys));
	json_object_set_new(o, "mean_bytes", json_real(r->mean));
	json_object_set_new(o, "sigma_bytes", json_real(r->sigma));
	if (r->kind != FQ_Q_TOP)
		json_object_set_new(o, "threshold_bytes", json_real(r->threshold));
	json_object_set_new(o, "complete", json_boolean(r->complete));
	for (size_t i = 0; i < r->n; i++) {
		const struct fq_qrow *w = &r->rows[i];

		json_array_append_new(arr, json_pack("{s:s,s:I,s:I,s:f}", "key",
						     fq_qkey_str(&w->key, buf, sizeof(buf)), "bytes",
						     (json_int_t)w->bytes, "packets", (json_int_t)w->pkts,
						     "percent",
						     r->total_bytes ? 100.0 * w->bytes / r->total_bytes : 0.0));
	}
	json_object_set_new(o, "results", arr);
	return o;
}

/* ---- engine -------------------------------------------------------------- */

struct ftent {
	struct fq_flow_key key; /* first */
	uint8_t live;
	uint8_t pad[7];
	uint64_t bytes, pkts, gen;
};

struct fq_ftrack {
	struct ftent *e;
	uint32_t ne, cap;
	uint32_t *freel;
	uint32_t nfree;
	struct ht ht;
};

static const void *ft_key(const void *ctx, uint32_t idx)
{
	const struct fq_ftrack *f = ctx;

	return &f->e[idx].key;
}

#define FTOPS(f) (&(struct ht_ops){ .key = ft_key, .keysz = sizeof(struct fq_flow_key), .ctx = (f) })

int fq_qparams_check(const struct fq_qparams *p, unsigned span, char *why, size_t len)
{
	if (!isfinite(p->H) || p->H < 0 || p->H > 100)
		snprintf(why, len, "H must be a percentage in [0, 100]");
	else if (p->k > 1000000)
		snprintf(why, len, "k must be in [0, 1000000]");
	else if (!isfinite(p->X) || p->X < 0 || p->X > 1e6)
		snprintf(why, len, "X must be a number of standard deviations in [0, 1e6]");
	else if (p->T < 1 || p->T > span)
		snprintf(why, len, "T must be a window in seconds in [1, %u]", span);
	else
		return 0;
	return -EINVAL;
}

struct fq_query *fq_query_new(unsigned span, const struct fq_qparams *p, size_t max_keys,
			      size_t max_cells)
{
	struct fq_query *q = calloc(1, sizeof(*q));
	char why[96];

	if (!q)
		return NULL;
	if (fq_qparams_check(p, span, why, sizeof(why))) {
		free(q);
		errno = EINVAL;
		return NULL;
	}
	q->p = *p;
	q->span = span;
	q->by[0] = fq_qstore_new(span, p->T, max_keys, max_cells);
	q->by[1] = fq_qstore_new(span, p->T, max_keys, max_cells);
	q->ft = calloc(1, sizeof(*q->ft));
	if (!q->by[0] || !q->by[1] || !q->ft || ht_init(&q->ft->ht, 1024)) {
		fq_query_free(q);
		errno = ENOMEM;
		return NULL;
	}
	fq_appproto_init();
	return q;
}

void fq_query_free(struct fq_query *q)
{
	if (!q)
		return;
	fq_qstore_free(q->by[0]);
	fq_qstore_free(q->by[1]);
	if (q->ft) {
		free(q->ft->e);
		free(q->ft->freel);
		free(q->ft->ht.slot);
		free(q->ft);
	}
	free(q);
}

int fq_query_set_params(struct fq_query *q, const struct fq_qparams *p)
{
	char why[96];

	if (fq_qparams_check(p, q->span, why, sizeof(why)))
		return -EINVAL;
	fq_qstore_set_window(q->by[0], p->T);
	fq_qstore_set_window(q->by[1], p->T);
	q->p = *p;
	return 0;
}

void fq_query_advance(struct fq_query *q, uint64_t sec)
{
	fq_qstore_advance(q->by[0], sec);
	fq_qstore_advance(q->by[1], sec);
}

void fq_query_feed(struct fq_query *q, uint64_t sec, const struct fq_flow_key *k, uint64_t bytes,
		   uint64_t pkts)
{
	struct fq_qkey pk = { .kind = FQ_QK_APP }, ip = { .kind = k->family == 6 ? 6 : 4 };
	uint32_t id = fq_appproto_id(k->proto, k->port_lo, k->port_hi);

	if (!bytes && !pkts)
		return;
	pk.b[0] = id >> 24;
	pk.b[1] = id >> 16;
	pk.b[2] = id >> 8;
	pk.b[3] = id;
	fq_qstore_add_total(q->by[0], sec, bytes, pkts);
	fq_qstore_add(q->by[0], sec, &pk, bytes, pkts);
	fq_qstore_add_total(q->by[1], sec, bytes, pkts);
	memcpy(ip.b, k->addr_lo, 16);
	fq_qstore_add(q->by[1], sec, &ip, bytes, pkts);
	if (memcmp(k->addr_lo, k->addr_hi, 16)) {
		memcpy(ip.b, k->addr_hi, 16);
		fq_qstore_add(q->by[1], sec, &ip, bytes, pkts);
	}
}

static void ft_del(struct fq_ftrack *f, uint32_t idx)
{
	ht_del(&f->ht, FTOPS(f), idx, hash_bytes(&f->e[idx].key, sizeof(f->e[idx].key)));
	f->e[idx].live = 0;
	f->freel[f->nfree++] = idx;
}

void fq_query_flow(struct fq_query *q, const struct fq_flow_rec *r, bool ended, uint64_t *dbytes,
		   uint64_t *dpkts)
{
	struct fq_ftrack *f = q->ft;
	uint64_t bytes = r->val.dir[0].bytes + r->val.dir[1].bytes;
	uint64_t pkts = r->val.dir[0].packets + r->val.dir[1].packets;
	uint64_t h = hash_bytes(&r->key, sizeof(r->key));
	int64_t idx = ht_find(&f->ht, FTOPS(f), &r->key, h);
	uint64_t db = bytes, dp = pkts, sec = fq_flow_last_ns(&r->val) / 1000000000ULL;

	if (idx >= 0) {
		struct ftent *e = &f->e[idx];

		/* fewer than last time: the flow ended and came back unseen */
		if (bytes >= e->bytes && pkts >= e->pkts) {
			db = bytes - e->bytes;
			dp = pkts - e->pkts;
		}
		e->bytes = bytes;
		e->pkts = pkts;
		e->gen = q->gen;
		if (ended)
			ft_del(f, idx);
	} else if (!ended) {
		if (f->nfree) {
			idx = f->freel[--f->nfree];
		} else {
			if (f->ne == f->cap) {
				uint32_t nc = f->cap ? f->cap * 2 : 1024;
				struct ftent *ne = realloc(f->e, nc * sizeof(*ne));
				uint32_t *nf;

				if (!ne)
					goto feed;
				f->e = ne;
				nf = realloc(f->freel, nc * sizeof(*nf));
				if (!nf)
					goto feed;
				f->freel = nf;
				f->cap = nc;
			}
			idx = f->ne++;
		}
		f->e[idx] = (struct ftent){ .key = r->key, .live = 1, .bytes = bytes, .pkts = pkts,
					    .gen = q->gen };
		if (ht_grow(&f->ht, FTOPS(f))) {
			f->e[idx].live = 0;
			f->freel[f->nfree++] = idx;
		} else {
			ht_put(&f->ht, idx, h);
		}
	}
feed:
	if (dbytes)
		*dbytes = db;
	if (dpkts)
		*dpkts = dp;
	fq_query_feed(q, sec, &r->key, db, dp);
}

void fq_query_poll_done(struct fq_query *q)
{
	struct fq_ftrack *f = q->ft;

	for (uint32_t i = 0; i < f->ne; i++)
		if (f->e[i].live && f->e[i].gen != q->gen) {
			ft_del(f, i);
			q->stale_flows++;
		}
	q->gen++;
}

size_t fq_query_flows_tracked(const struct fq_query *q)
{
	return q->ft->ht.n;
}

int fq_query_eval_all(struct fq_query *q, struct fq_qresult out[6])
{
	int err = 0;

	memset(out, 0, 6 * sizeof(*out));
	if (!param_ok(FQ_Q_PERCENT, q->p.H) || !param_ok(FQ_Q_SIGMA, q->p.X))
		return -EINVAL;
	/* one pass over each store's keys serves its three queries */
	for (int by = 0; by < 2; by++) {
		struct fq_qresult g, *o = &out[by * 3];

		err = gather(q->by[by], 0, &g);
		if (err)
			break;
		err = select_rows(&g, FQ_Q_PERCENT, q->p.H, false, &o[0]);
		if (!err)
			err = select_rows(&g, FQ_Q_SIGMA, q->p.X, false, &o[2]);
		if (!err)
			err = select_rows(&g, FQ_Q_TOP, q->p.k, true, &o[1]);
		else
			free(g.rows);
		o[0].by = o[1].by = o[2].by = by;
		if (err)
			break;
	}
	if (err)
		for (int i = 0; i < 6; i++)
			fq_qresult_free(&out[i]);
	return err;
}
