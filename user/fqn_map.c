// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fqn_map.c - maps of the native engine; semantics in fqn_map.h.
 * Hash maps: chained buckets (a power of two, doubled as keys come in) and
 * one list of all entries in insertion order, which an LRU map keeps in
 * use order instead.  Each entry is one allocation, so a value pointer the
 * datapath holds stays valid while its key is in the map.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/bpf.h>
#include "fqn_map.h"

struct node {
	struct node *hnext;        /* bucket chain */
	struct node *prev, *next;  /* insertion (LRU: use) order */
	uint64_t hash;
	uint64_t data[];           /* key, then value at voff */
};

struct fqn_map {
	char name[32];
	int type;
	uint32_t ksize, vsize, voff, max, count;
	bool array, lru;
	/* hash */
	struct node **buckets;
	uint64_t nbuckets;
	struct node *head, *tail;
	/* array */
	uint8_t *vals;
};

static uint64_t hash_key(const void *key, uint32_t n)
{
	const uint8_t *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	if (n) {
		w = 0;
		memcpy(&w, p, n);
		h = (h ^ w) * 0xff51afd7ed558ccdULL;
	}
	h ^= h >> 32;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 29);
}

struct fqn_map *fqn_map_new(const char *name, int type, uint32_t key_size,
			    uint32_t value_size, uint32_t max_entries)
{
	struct fqn_map *m = calloc(1, sizeof(*m));

	if (!m || !max_entries || !value_size)
		goto fail;
	strncpy(m->name, name, sizeof(m->name) - 1);
	m->type = type;
	m->ksize = key_size;
	m->vsize = value_size;
	m->voff = (key_size + 7) & ~7u;
	m->max = max_entries;
	switch (type) {
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		if (key_size != 4)
			goto fail;
		m->array = true;
		m->vals = calloc(max_entries, (value_size + 7) & ~7u);
		if (!m->vals)
			goto fail;
		return m;
	case BPF_MAP_TYPE_LRU_HASH:
		m->lru = true;
		/* fall through */
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
		m->nbuckets = 64;
		m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
		if (!m->buckets)
			goto fail;
		return m;
	default:
		goto fail;
	}
fail:
	fqn_map_free(m);
	return NULL;
}

void fqn_map_free(struct fqn_map *m)
{
	struct node *n, *next;

	if (!m)
		return;
	for (n = m->head; n; n = next) {
		next = n->next;
		free(n);
	}
	free(m->buckets);
	free(m->vals);
	free(m);
}

const char *fqn_map_name(const struct fqn_map *m)
{
	return m->name;
}

uint32_t fqn_map_count(const struct fqn_map *m)
{
	return m->array ? m->max : m->count;
}

static struct node *find(struct fqn_map *m, const void *key, uint64_t h)
{
	struct node *n;

	for (n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == h && !memcmp(n->data, key, m->ksize))
			return n;
	return NULL;
}

static void list_del(struct fqn_map *m, struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		m->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		m->tail = n->prev;
	n->prev = n->next = NULL;
}

static void list_add_tail(struct fqn_map *m, struct node *n)
{
	n->prev = m->tail;
	n->next = NULL;
	if (m->tail)
		m->tail->next = n;
	else
		m->head = n;
	m->tail = n;
}

static void unlink_node(struct fqn_map *m, struct node *n)
{
	struct node **pp = &m->buckets[n->hash & (m->nbuckets - 1)];

	while (*pp != n)
		pp = &(*pp)->hnext;
	*pp = n->hnext;
	list_del(m, n);
	m->count--;
	free(n);
}

static void grow(struct fqn_map *m)
{
	uint64_t nb = m->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (struct node *n = m->head; n; n = n->next) {
		n->hnext = b[n->hash & (nb - 1)];
		b[n->hash & (nb - 1)] = n;
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

void *fqn_lookup(struct fqn_map *m, const void *key)
{
	struct node *n;

	if (m->array) {
		uint32_t i;

		memcpy(&i, key, 4);
		return i < m->max ? m->vals + (size_t)i * ((m->vsize + 7) & ~7u) : NULL;
	}
	n = find(m, key, hash_key(key, m->ksize));
	if (!n)
		return NULL;
	if (m->lru && n != m->tail) {
		list_del(m, n);
		list_add_tail(m, n);
	}
	return (uint8_t *)n->data + m->voff;
}

long fqn_update(struct fqn_map *m, const void *key, const void *value, uint64_t flags)
{
	uint64_t h;
	struct node *n;

	if (flags > BPF_EXIST)
		return -EINVAL;
	if (m->array) {
		void *v = fqn_lookup(m, key);

		if (!v)
			return -E2BIG;
		if (flags == BPF_NOEXIST)
			return -EEXIST;
		memcpy(v, value, m->vsize);
		return 0;
	}
	h = hash_key(key, m->ksize);
	n = find(m, key, h);
	if (n) {
		if (flags == BPF_NOEXIST)
			return -EEXIST;
		memcpy((uint8_t *)n->data + m->voff, value, m->vsize);
		if (m->lru && n != m->tail) {
			list_del(m, n);
			list_add_tail(m, n);
		}
		return 0;
	}
	if (flags == BPF_EXIST)
		return -ENOENT;
	if (m->count >= m->max) {
		if (!m->lru)
			return -E2BIG;
		unlink_node(m, m->head);
	}
	n = malloc(sizeof(*n) + m->voff + ((m->vsize + 7) & ~7u));
	if (!n)
		return -ENOMEM;
	n->hash = h;
	memcpy(n->data, key, m->ksize);
	memcpy((uint8_t *)n->data + m->voff, value, m->vsize);
	n->hnext = m->buckets[h & (m->nbuckets - 1)];
	m->buckets[h & (m->nbuckets - 1)] = n;
	list_add_tail(m, n);
	if (++m->count > m->nbuckets)
		grow(m);
	return 0;
}

long fqn_delete(struct fqn_map *m, const void *key)
{
	struct node *n;

	if (m->array)
		return -EINVAL;
	n = find(m, key, hash_key(key, m->ksize));
	if (!n)
		return -ENOENT;
	unlink_node(m, n);
	return 0;
}

int fqn_next(struct fqn_map *m, void **it, void **key, void **value)
{
	struct node *n;

	if (m->array)
		return -1;
	/* *it is the entry after the one returned last, so that the caller
	 * may delete that one */
	n = *it ? (struct node *)*it : m->head;
	if (*it == (void *)m || !n)
		return -1;
	*it = n->next ? (void *)n->next : (void *)m;
	*key = n->data;
	*value = (uint8_t *)n->data + m->voff;
	return 0;
}
