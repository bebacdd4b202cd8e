// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The flow table reader (struct fq_flowtab) against a real hash map shaped
 * like fq_flows: every flow exactly once with its own value, on the batch
 * path and the get_next_key fallback, when reused after the table changed,
 * when it must grow (a reader opened on a small map, a batch smaller than
 * a bucket), on an empty table, and -EPROTO for a map of another shape.
 * Needs root (map creation), no program.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "testlib.h"
#include "flowtab.h"

static void key_of(struct fq_flow_key *k, uint32_t id)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = 17;
	memcpy(k->addr_lo, &id, sizeof(id));
	k->port_lo = id & 0xffff;
}

static int put(int fd, uint32_t id, uint64_t gen)
{
	struct fq_flow_key k;
	struct fq_flow v = {};

	key_of(&k, id);
	v.dir[0].packets = id;
	v.dir[1].bytes = gen;
	return bpf_map_update_elem(fd, &k, &v, BPF_ANY);
}

static int del(int fd, uint32_t id)
{
	struct fq_flow_key k;

	key_of(&k, id);
	return bpf_map_delete_elem(fd, &k);
}

/* ids [lo, hi) present, each once, with value gen; nothing else */
static bool exactly(const char *name, const struct fq_flowtab *t, long got, uint32_t lo,
		    uint32_t hi, uint64_t gen)
{
	uint8_t *seen = calloc(hi, 1);
	bool ok = TL_EQ_U64(name, "flows read", got, hi - lo) && TL_EQ_U64(name, "t->n", t->n, got);

	for (long i = 0; ok && i < got; i++) {
		uint32_t id;

		memcpy(&id, t->keys[i].addr_lo, sizeof(id));
		ok = TL_CHECK(name, id >= lo && id < hi && !seen[id], "flow %u unexpected or twice", id) &&
		     TL_CHECK(name, t->vals[i].dir[0].packets == id && t->vals[i].dir[1].bytes == gen,
			      "flow %u has another flow's value", id);
		if (ok)
			seen[id] = 1;
	}
	free(seen);
	return ok;
}

static void run(bool slow)
{
	const char *n_reuse = slow ? "flowtab/slow-reuse" : "flowtab/batch-reuse";
	const char *n_grow = slow ? "flowtab/slow-grow" : "flowtab/batch-grow";
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fq_flows", sizeof(struct fq_flow_key),
				sizeof(struct fq_flow), 4096, NULL);
	int small = bpf_map_create(BPF_MAP_TYPE_HASH, "fq_flows", sizeof(struct fq_flow_key),
				   sizeof(struct fq_flow), 16, NULL);
	struct fq_flowtab t;
	bool ok = true;

	if (fd < 0 || small < 0) {
		TL_FAIL(n_reuse, "creating maps: %s", strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < 3000; i++)
		ok = ok && !put(fd, i, 1);
	ok = TL_CHECK(n_reuse, ok, "filling the map") && TL_CHECK(n_reuse, !fq_flowtab_open(&t, fd), "open");
	if (!ok)
		goto out;
	t.slow = slow;
	ok = exactly(n_reuse, &t, fq_flowtab_read(&t), 0, 3000, 1);
	/* reused after the table changed: half gone, new ones, new values */
	for (uint32_t i = 0; i < 1500; i++)
		ok = ok && !del(fd, i);
	for (uint32_t i = 1500; i < 4000; i++)
		ok = ok && !put(fd, i, 2);
	ok = ok && exactly(n_reuse, &t, fq_flowtab_read(&t), 1500, 4000, 2);
	fq_flowtab_free(&t);
	if (ok)
		TL_OK(n_reuse);

	/* a reader sized for 16 flows grows to 2500; then a 1-flow batch
	 * (the kernel refuses a batch smaller than its bucket: ENOSPC) */
	ok = TL_CHECK(n_grow, !fq_flowtab_open(&t, small), "open");
	t.fd = fd;
	t.slow = slow;
	ok = ok && TL_EQ_U64(n_grow, "first size", t.cap, 1024) &&
	     exactly(n_grow, &t, fq_flowtab_read(&t), 1500, 4000, 2);
	fq_flowtab_free(&t);
	if (!slow) {
		ok = ok && TL_CHECK(n_grow, !fq_flowtab_open(&t, fd), "open");
		t.batch = 1;
		ok = ok && exactly(n_grow, &t, fq_flowtab_read(&t), 1500, 4000, 2);
		fq_flowtab_free(&t);
	}
	if (ok)
		TL_OK(n_grow);
out:
	if (fd >= 0)
		close(fd);
	if (small >= 0)
		close(small);
}

int main(void)
{
	struct fq_flowtab t;
	int fd;

	if (geteuid() != 0) {
		TL_SKIP("flowtab/read", "needs root (map creation)");
		return 0;
	}
	run(false);
	run(true);

	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fq_flows", sizeof(struct fq_flow_key),
			    sizeof(struct fq_flow), 64, NULL);
	if (TL_CHECK("flowtab/empty", fd >= 0, "map: %s", strerror(errno)) &&
	    TL_EQ_U64("flowtab/empty", "flows", fq_flowtab_read_fd(&t, fd), 0) &&
	    TL_EQ_U64("flowtab/empty", "again", fq_flowtab_read(&t), 0))
		TL_OK("flowtab/empty");
	fq_flowtab_free(&t);
	if (fd >= 0)
		close(fd);

	/* a map of another shape (another flowqoe version pinned it) */
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "fq_flows", sizeof(struct fq_flow_key),
			    sizeof(struct fq_flow) - 8, 64, NULL);
	if (TL_CHECK("flowtab/eproto", fd >= 0, "map: %s", strerror(errno)) &&
	    TL_EQ_U64("flowtab/eproto", "read", fq_flowtab_read_fd(&t, fd), (uint64_t)(long)-EPROTO) &&
	    TL_EQ_U64("flowtab/eproto", "read after", fq_flowtab_read(&t), (uint64_t)(long)-EINVAL))
		TL_OK("flowtab/eproto");
	fq_flowtab_free(&t);
	if (fd >= 0)
		close(fd);
	return tl_exit();
}
