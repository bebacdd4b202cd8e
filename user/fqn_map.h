/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fqn_map.h - the maps of the native engine (`flowqoe replay --engine
 * native`): the kernel's map semantics the datapath relies on, in process
 * memory, for one thread.
 *   hash (HASH, PERCPU_HASH: one CPU here): update fails with -E2BIG when
 *     max_entries keys are in, -EEXIST / -ENOENT for BPF_NOEXIST /
 *     BPF_EXIST as the kernel's; a looked-up value stays where it is until
 *     its key is deleted;
 *   LRU (LRU_HASH): never full: an insert into a full map evicts the least
 *     recently looked-up or updated key (the kernel's LRU is approximate
 *     and per-CPU: the two differ only in which key goes when full);
 *   array (ARRAY, PERCPU_ARRAY): max_entries zeroed values.
 * Values are 8-byte aligned (the datapath's atomics work on them).
 */
#ifndef FQN_MAP_H
#define FQN_MAP_H

#include <stdint.h>

struct fqn_map;

struct fqn_map *fqn_map_new(const char *name, int type, uint32_t key_size,
			    uint32_t value_size, uint32_t max_entries);
void fqn_map_free(struct fqn_map *m);
const char *fqn_map_name(const struct fqn_map *m);
uint32_t fqn_map_count(const struct fqn_map *m);

void *fqn_lookup(struct fqn_map *m, const void *key);
long fqn_update(struct fqn_map *m, const void *key, const void *value, uint64_t flags);
long fqn_delete(struct fqn_map *m, const void *key);

/* Entries of a hash or LRU map in insertion order: *it starts NULL; 0 and
 * *key, *value set while there is one, -1 after the last.  Deleting the
 * current entry is allowed. */
int fqn_next(struct fqn_map *m, void **it, void **key, void **value);

#endif
