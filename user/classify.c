// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "classify.h"
#include "window.h"

#define NBUCKETS 65536
/* records a worker takes from its queue, and aggregates, per lock taken:
 * the locks are paid per batch, not per record */
#define BATCH 64

/* bumped whenever any classifier's counts change (see fq_clf_published_gen) */
static uint64_t clf_gen;

struct wq {
	pthread_mutex_t mu;
	pthread_cond_t cv, idle;
	struct fq_win_rec *ring;
	size_t cap, head, len;
	bool busy;
	bool waiting;   /* the worker sleeps on cv: only then is a signal needed */
	pthread_t th;
	struct fq_clf *c;
};

struct fq_clf {
	struct fq_clf_model m;
	int nworkers;
	struct wq *w;
	bool stop;
	uint64_t timeout_ns;
	pthread_mutex_t agg_mu;
	struct fq_clf_conv *buckets[NBUCKETS];
	long open;
	uint64_t submitted, dropped, classified, closed;
	uint64_t *per_class_records, *per_class_convs, *per_class_closed;
};

int fq_clf_model_map(struct fq_clf_model *m, const char *const *names, int n)
{
	if (n > 64) {
		fq_err("model expects %d features; windows have %d", n, FQ_WIN_NFEAT);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++) {
		int j;

		for (j = 0; j < FQ_WIN_NFEAT; j++)
			if (!strcmp(names[i], fq_win_feature_names[j]))
				break;
		if (j == FQ_WIN_NFEAT) {
			fq_err("model feature '%s' is not a window feature (fwd_/bwd_ + size_mean, "
			       "size_std, iat_mean, iat_std, bytes, packets)", names[i]);
			return -EINVAL;
		}
		m->feat_idx[i] = j;
	}
	m->nfeatures = n;
	return 0;
}

static uint32_t key_hash(const struct fq_conv_key *k)
{
	/* FNV-1a over the key bytes: stable, so the worker of a conversation
	 * does not depend on anything but the conversation */
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* agg_mu held */
static void aggregate(struct fq_clf *c, const struct fq_win_rec *r, int cls)
{
	uint32_t b = key_hash(&r->key) % NBUCKETS;
	struct fq_clf_conv *cv;

	for (cv = c->buckets[b]; cv; cv = cv->next)
		if (!memcmp(&cv->key, &r->key, sizeof(r->key)))
			break;
	if (!cv) {
		cv = calloc(1, sizeof(*cv));
		if (cv)
			cv->per_class = calloc(c->m.nclasses, sizeof(uint64_t));
		if (!cv || !cv->per_class) {
			free(cv);
			__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
			return;
		}
		cv->key = r->key;
		cv->initiator = r->initiator;
		cv->first_ns = r->start_ns;
		cv->latest = -1;
		cv->next = c->buckets[b];
		c->buckets[b] = cv;
		c->open++;
	}
	if (cv->latest >= 0)
		c->per_class_convs[cv->latest]--;
	cv->latest = cls;
	c->per_class_convs[cls]++;
	cv->per_class[cls]++;
	cv->records++;
	if (r->start_ns > cv->last_ns)
		cv->last_ns = r->start_ns;
	c->per_class_records[cls]++;
	c->classified++;
}

static void *worker(void *arg)
{
	struct wq *q = arg;
	struct fq_clf *c = q->c;
	struct fq_win_rec r[BATCH];
	int cls[BATCH];
	double feat[FQ_WIN_NFEAT];
	float x[64];

	for (;;) {
		size_t n;

		pthread_mutex_lock(&q->mu);
		while (!q->len && !c->stop) {
			q->busy = false;
			pthread_cond_broadcast(&q->idle);
			q->waiting = true;
			pthread_cond_wait(&q->cv, &q->mu);
			q->waiting = false;
		}
		if (!q->len && c->stop) {
			q->busy = false;
			pthread_cond_broadcast(&q->idle);
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		q->busy = true;
		n = q->len < BATCH ? q->len : BATCH;
		for (size_t i = 0; i < n; i++)
			r[i] = q->ring[(q->head + i) % q->cap];
		q->head = (q->head + n) % q->cap;
		q->len -= n;
		pthread_mutex_unlock(&q->mu);

		for (size_t i = 0; i < n; i++) {
			fq_win_features(&r[i], feat);
			for (int k = 0; k < c->m.nfeatures; k++)
				x[k] = (float)feat[c->m.feat_idx[k]];
			cls[i] = c->m.predict(c->m.model, x);
		}
		pthread_mutex_lock(&c->agg_mu);
		for (size_t i = 0; i < n; i++) {
			if (cls[i] < 0 || cls[i] >= c->m.nclasses)
				__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
			else
				aggregate(c, &r[i], cls[i]);
		}
		__atomic_fetch_add(&clf_gen, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&c->agg_mu);
	}
}

struct fq_clf *fq_clf_new(const struct fq_clf_model *m, int workers, size_t qlen, uint64_t timeout_ns)
{
	struct fq_clf *c = calloc(1, sizeof(*c));

	if (!c || workers < 1 || workers > 256 || qlen < 1)
		goto fail;
	c->m = *m;
	c->timeout_ns = timeout_ns;
	c->nworkers = workers;
	pthread_mutex_init(&c->agg_mu, NULL);
	c->per_class_records = calloc(m->nclasses, sizeof(uint64_t));
	c->per_class_convs = calloc(m->nclasses, sizeof(uint64_t));
	c->per_class_closed = calloc(m->nclasses, sizeof(uint64_t));
	c->w = calloc(workers, sizeof(*c->w));
	if (!c->per_class_records || !c->per_class_convs || !c->per_class_closed || !c->w)
		goto fail;
	for (int i = 0; i < workers; i++) {
		struct wq *q = &c->w[i];

		pthread_mutex_init(&q->mu, NULL);
		pthread_cond_init(&q->cv, NULL);
		pthread_cond_init(&q->idle, NULL);
		q->cap = qlen;
		q->c = c;
		q->ring = malloc(qlen * sizeof(*q->ring));
		if (!q->ring || pthread_create(&q->th, NULL, worker, q)) {
			c->nworkers = i;
			fq_clf_free(c);
			return NULL;
		}
	}
	return c;
fail:
	if (c) {
		free(c->per_class_records);
		free(c->per_class_convs);
		free(c->per_class_closed);
		free(c->w);
		free(c);
	}
	return NULL;
}

int fq_clf_submit(struct fq_clf *c, const struct fq_win_rec *r)
{
	struct wq *q = &c->w[key_hash(&r->key) % c->nworkers];
	int ret = 0;

	/* one writer (the intake thread); atomic for readers elsewhere */
	__atomic_store_n(&c->submitted, c->submitted + 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&q->mu);
	if (q->len == q->cap) {
		ret = -ENOBUFS;
		__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
	} else {
		q->ring[(q->head + q->len) % q->cap] = *r;
		q->len++;
		q->busy = true;
		/* a futex wake per record would cost more than the record */
		if (q->waiting)
			pthread_cond_signal(&q->cv);
	}
	pthread_mutex_unlock(&q->mu);
	return ret;
}

void fq_clf_drain(struct fq_clf *c)
{
	for (int i = 0; i < c->nworkers; i++) {
		struct wq *q = &c->w[i];

		pthread_mutex_lock(&q->mu);
		while (q->len || q->busy)
			pthread_cond_wait(&q->idle, &q->mu);
		pthread_mutex_unlock(&q->mu);
	}
}

long fq_clf_expire(struct fq_clf *c, uint64_t now, bool all, fq_clf_end_cb cb, void *ctx)
{
	long n = 0;

	pthread_mutex_lock(&c->agg_mu);
	for (int b = 0; b < NBUCKETS; b++) {
		struct fq_clf_conv **pp = &c->buckets[b];

		while (*pp) {
			struct fq_clf_conv *cv = *pp;

			if (all || cv->last_ns + c->timeout_ns < now) {
				if (cb)
					cb(ctx, cv);
				*pp = cv->next;
				if (cv->latest >= 0) {
					c->per_class_convs[cv->latest]--;
					c->per_class_closed[cv->latest]++;
				}
				free(cv->per_class);
				free(cv);
				c->open--;
				c->closed++;
				n++;
			} else {
				pp = &cv->next;
			}
		}
	}
	if (n)
		__atomic_fetch_add(&clf_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&c->agg_mu);
	return n;
}

void fq_clf_free(struct fq_clf *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nworkers; i++) {
		pthread_mutex_lock(&c->w[i].mu);
		c->stop = true;
		pthread_cond_broadcast(&c->w[i].cv);
		pthread_mutex_unlock(&c->w[i].mu);
	}
	for (int i = 0; i < c->nworkers; i++)
		pthread_join(c->w[i].th, NULL);
	fq_clf_expire(c, 0, true, NULL, NULL);
	for (int i = 0; i < c->nworkers; i++)
		free(c->w[i].ring);
	free(c->w);
	free(c->per_class_records);
	free(c->per_class_convs);
	free(c->per_class_closed);
	free(c);
}

void fq_clf_stats(struct fq_clf *c, struct fq_clf_stats *s)
{
	pthread_mutex_lock(&c->agg_mu);
	s->submitted = __atomic_load_n(&c->submitted, __ATOMIC_RELAXED);
	s->classified = c->classified;
	s->dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
	s->closed = c->closed;
	s->per_class_records = c->per_class_records;
	s->per_class_convs = c->per_class_convs;
	s->open = c->open;
	pthread_mutex_unlock(&c->agg_mu);
}

json_t *fq_clf_conv_json(const struct fq_clf *c, const struct fq_clf_conv *cv, int64_t off)
{
	const uint8_t *a = cv->initiator ? cv->key.addr_hi : cv->key.addr_lo;
	const uint8_t *b = cv->initiator ? cv->key.addr_lo : cv->key.addr_hi;
	char sa[64], sb[64];
	json_t *o = json_object(), *pc = json_object();

	fq_addr_str(a, cv->key.family, sa, sizeof(sa));
	fq_addr_str(b, cv->key.family, sb, sizeof(sb));
	json_object_set_new(o, "src", json_string(sa));
	json_object_set_new(o, "dst", json_string(sb));
	json_object_set_new(o, "records", json_integer(cv->records));
	json_object_set_new(o, "latest_class", json_string(cv->latest >= 0 ? c->m.class_names[cv->latest] : ""));
	for (int i = 0; i < c->m.nclasses; i++)
		json_object_set_new(pc, c->m.class_names[i], json_integer(cv->per_class[i]));
	json_object_set_new(o, "per_class", pc);
	json_object_set_new(o, "first_seen_ns", json_integer((int64_t)cv->first_ns + off));
	json_object_set_new(o, "last_seen_ns", json_integer((int64_t)cv->last_ns + off));
	return o;
}

static int conv_cmp(const void *x, const void *y)
{
	const struct fq_clf_conv *a = *(const struct fq_clf_conv *const *)x;
	const struct fq_clf_conv *b = *(const struct fq_clf_conv *const *)y;

	return memcmp(&a->key, &b->key, sizeof(a->key));
}

static struct fq_clf_conv **sorted(struct fq_clf *c, long *n)
{
	struct fq_clf_conv **v = malloc((c->open + 1) * sizeof(*v));
	long k = 0;

	if (!v)
		return NULL;
	for (int b = 0; b < NBUCKETS; b++)
		for (struct fq_clf_conv *cv = c->buckets[b]; cv; cv = cv->next)
			v[k++] = cv;
	qsort(v, k, sizeof(*v), conv_cmp);
	*n = k;
	return v;
}

json_t *fq_clf_table_json(struct fq_clf *c, int64_t off)
{
	json_t *arr = json_array();
	struct fq_clf_conv **v;
	long n;

	pthread_mutex_lock(&c->agg_mu);
	v = sorted(c, &n);
	for (long i = 0; v && i < n; i++)
		json_array_append_new(arr, fq_clf_conv_json(c, v[i], off));
	pthread_mutex_unlock(&c->agg_mu);
	free(v);
	return arr;
}

void fq_clf_table_print(struct fq_clf *c, FILE *f)
{
	struct fq_clf_conv **v;
	long n;

	pthread_mutex_lock(&c->agg_mu);
	v = sorted(c, &n);
	fprintf(f, "%-39s %-39s %8s %-14s %s\n", "conversation src", "dst", "records", "latest", "per class");
	for (long i = 0; v && i < n; i++) {
		const struct fq_clf_conv *cv = v[i];
		const uint8_t *a = cv->initiator ? cv->key.addr_hi : cv->key.addr_lo;
		const uint8_t *b = cv->initiator ? cv->key.addr_lo : cv->key.addr_hi;
		char sa[64], sb[64];

		fq_addr_str(a, cv->key.family, sa, sizeof(sa));
		fq_addr_str(b, cv->key.family, sb, sizeof(sb));
		fprintf(f, "%-39s %-39s %8llu %-14s", sa, sb, (unsigned long long)cv->records,
			cv->latest >= 0 ? c->m.class_names[cv->latest] : "-");
		for (int k = 0; k < c->m.nclasses; k++)
			fprintf(f, " %s=%llu", c->m.class_names[k], (unsigned long long)cv->per_class[k]);
		fputc('\n', f);
	}
	pthread_mutex_unlock(&c->agg_mu);
	free(v);
	fflush(f);
}

/* ---- snapshots for other threads, and the published classifier ---------- */

struct fq_clf_snap *fq_clf_snap_new(struct fq_clf *c, bool table, int64_t off)
{
	int k = c->m.nclasses;
	struct fq_clf_snap *s = calloc(1, sizeof(*s) + 3 * k * sizeof(uint64_t) + k * sizeof(char *));
	size_t names = 0;
	char *p;

	if (!s)
		return NULL;
	for (int i = 0; i < k; i++)
		names += strlen(c->m.class_names[i]) + 1;
	s->names_buf = malloc(names ? names : 1);
	if (!s->names_buf) {
		free(s);
		return NULL;
	}
	s->nclasses = k;
	s->records = (uint64_t *)(s + 1);
	s->convs = s->records + k;
	s->closed_convs = s->convs + k;
	s->class_names = (const char **)(s->closed_convs + k);
	p = s->names_buf;
	for (int i = 0; i < k; i++) {
		size_t n = strlen(c->m.class_names[i]) + 1;

		memcpy(p, c->m.class_names[i], n);
		s->class_names[i] = p;
		p += n;
	}
	pthread_mutex_lock(&c->agg_mu);
	s->submitted = __atomic_load_n(&c->submitted, __ATOMIC_RELAXED);
	s->classified = c->classified;
	s->dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
	s->closed = c->closed;
	s->open = c->open;
	s->workers = c->nworkers;
	memcpy(s->records, c->per_class_records, k * sizeof(uint64_t));
	memcpy(s->convs, c->per_class_convs, k * sizeof(uint64_t));
	memcpy(s->closed_convs, c->per_class_closed, k * sizeof(uint64_t));
	if (table) {
		struct fq_clf_conv **v;
		long n;

		s->table = json_array();
		v = sorted(c, &n);
		for (long i = 0; v && i < n; i++)
			json_array_append_new(s->table, fq_clf_conv_json(c, v[i], off));
		free(v);
	}
	pthread_mutex_unlock(&c->agg_mu);
	return s;
}

void fq_clf_snap_free(struct fq_clf_snap *s)
{
	if (!s)
		return;
	json_decref(s->table);
	free(s->names_buf);
	free(s);
}

/* Readers take pub_mu for the whole copy, so fq_clf_publish(NULL) returning
 * means no reader still looks at the classifier it withdrew. */
static pthread_mutex_t pub_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fq_clf *pub;

void fq_clf_publish(struct fq_clf *c)
{
	pthread_mutex_lock(&pub_mu);
	pub = c;
	__atomic_fetch_add(&clf_gen, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pub_mu);
}

struct fq_clf_snap *fq_clf_published_snap(bool table, int64_t epoch_off)
{
	struct fq_clf_snap *s = NULL;

	pthread_mutex_lock(&pub_mu);
	if (pub)
		s = fq_clf_snap_new(pub, table, epoch_off);
	pthread_mutex_unlock(&pub_mu);
	return s;
}

bool fq_clf_is_published(void)
{
	return __atomic_load_n(&pub, __ATOMIC_RELAXED) != NULL;
}

uint64_t fq_clf_published_gen(void)
{
	return __atomic_load_n(&clf_gen, __ATOMIC_RELAXED);
}
