// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Tier 1: the native engine's maps (user/fqn_map.c) keep the kernel map
 * semantics the datapath relies on; checked against a brute-force model. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <linux/bpf.h>
#include "testlib.h"
#include "fqn_map.h"

struct key {
	uint8_t b[40]; /* as struct fq_flow_key */
};

static struct key mk(uint32_t i)
{
	struct key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.b + 36, &i, 4);
	k.b[0] = i & 0xff;
	return k;
}

int main(void)
{
	enum { MAX = 1000, N = 20000 };
	static uint64_t model[MAX * 4]; /* value by key id, 0 = absent */
	struct fqn_map *m = fqn_map_new("h", BPF_MAP_TYPE_HASH, sizeof(struct key), 640, MAX);
	uint64_t s = 42, v[80];
	uint32_t count = 0;
	int bad = 0;

	if (!TL_CHECK("fqn/new", m != NULL, "fqn_map_new failed"))
		return tl_exit();

	/* random inserts, updates and deletes against the model */
	for (int i = 0; i < N; i++) {
		uint32_t id = tl_xorshift(&s) % (MAX * 4);
		struct key k = mk(id);
		uint64_t op = tl_xorshift(&s) % 4, *got;
		long r;

		memset(v, 0, sizeof(v));
		v[0] = v[79] = i + 1;
		if (op == 0) { /* BPF_NOEXIST */
			r = fqn_update(m, &k, v, BPF_NOEXIST);
			if (model[id]) {
				bad += r != -EEXIST;
			} else if (count == MAX) {
				bad += r != -E2BIG;
			} else {
				bad += r != 0;
				model[id] = i + 1;
				count++;
			}
		} else if (op == 1) { /* BPF_EXIST */
			r = fqn_update(m, &k, v, BPF_EXIST);
			if (model[id]) {
				bad += r != 0;
				model[id] = i + 1;
			} else {
				bad += r != -ENOENT;
			}
		} else if (op == 2) {
			r = fqn_delete(m, &k);
			bad += model[id] ? r != 0 : r != -ENOENT;
			if (model[id])
				count--;
			model[id] = 0;
		} else {
			got = fqn_lookup(m, &k);
			bad += ((uintptr_t)got & 7) != 0; /* the datapath's atomics */
			if (model[id])
				bad += !got || got[0] != model[id] || got[79] != model[id];
			else
				bad += got != NULL;
		}
	}
	if (TL_CHECK("fqn/hash-model", bad == 0 && fqn_map_count(m) == count,
		 "%d operations disagree with the model (count %u, model %u)", bad,
		 fqn_map_count(m), count))
		TL_OK("fqn/hash-model");

	/* iteration sees every key once, and may delete as it goes */
	{
		void *it = NULL, *k, *val;
		uint32_t seen = 0;

		bad = 0;
		while (fqn_next(m, &it, &k, &val) == 0) {
			uint32_t id;

			memcpy(&id, (uint8_t *)k + 36, 4);
			bad += id >= MAX * 4 || model[id] != ((uint64_t *)val)[0];
			seen++;
			fqn_delete(m, k);
		}
		if (TL_CHECK("fqn/iterate-delete", bad == 0 && seen == count && fqn_map_count(m) == 0,
			 "seen %u of %u, %d wrong, %u left", seen, count, bad, fqn_map_count(m)))
			TL_OK("fqn/iterate-delete");
	}
	fqn_map_free(m);

	/* LRU: never full; the key not used for longest goes */
	m = fqn_map_new("l", BPF_MAP_TYPE_LRU_HASH, sizeof(struct key), 8, 3);
	{
		struct key a = mk(1), b = mk(2), c = mk(3), d = mk(4);
		uint64_t one = 1;

		fqn_update(m, &a, &one, BPF_ANY);
		fqn_update(m, &b, &one, BPF_ANY);
		fqn_update(m, &c, &one, BPF_ANY);
		fqn_lookup(m, &a); /* b is now the least recently used */
		if (TL_CHECK("fqn/lru", fqn_update(m, &d, &one, BPF_NOEXIST) == 0 && fqn_map_count(m) == 3 &&
			 fqn_lookup(m, &a) && !fqn_lookup(m, &b) && fqn_lookup(m, &c) && fqn_lookup(m, &d),
			 "wrong key evicted"))
			TL_OK("fqn/lru");
	}
	fqn_map_free(m);

	/* arrays: zeroed, index bound, update in place */
	m = fqn_map_new("a", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 24, 256);
	{
		uint32_t i = 255, o = 256;
		uint64_t *p = fqn_lookup(m, &i), w[3] = { 7, 8, 9 };

		if (TL_CHECK("fqn/array", p && !p[0] && !p[2] && !fqn_lookup(m, &o) &&
			 fqn_update(m, &i, w, BPF_ANY) == 0 && p[2] == 9 &&
			 fqn_update(m, &o, w, BPF_ANY) == -E2BIG && fqn_update(m, &i, w, BPF_NOEXIST) == -EEXIST,
			 "array semantics"))
			TL_OK("fqn/array");
	}
	fqn_map_free(m);
	if (TL_CHECK("fqn/bad-type", fqn_map_new("x", BPF_MAP_TYPE_RINGBUF, 0, 8, 8) == NULL,
		 "a ring buffer is not a native map"))
		TL_OK("fqn/bad-type");
	return tl_exit();
}
