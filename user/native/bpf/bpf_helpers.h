/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * <bpf/bpf_helpers.h> for the native engine (user/native.c): the datapath
 * source in bpf/ compiled as ordinary userspace C.  Map definitions stay
 * what they are (anonymous structs whose members encode type, key, value
 * and size, as libbpf reads them from BTF); the helpers the datapath calls
 * become calls into user/fqn_map.c on the map that definition stands for.
 * One packet runs at a time, so bpf_spin_lock has nothing to exclude.
 */
#ifndef FQ_NATIVE_BPF_HELPERS_H
#define FQ_NATIVE_BPF_HELPERS_H

#include <linux/types.h>
#include <linux/bpf.h>
#include "fqn_map.h"

#define SEC(name)
#define __uint(name, val) int (*name)[val]
#define __type(name, val) __typeof__(val) *name
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

/* libbpf's enum libbpf_pin_type */
#define LIBBPF_PIN_BY_NAME 1

/* the map a definition stands for (user/native.c made one for each) */
struct fqn_map *fqn_resolve(const void *def);

#define bpf_map_lookup_elem(def, key) fqn_lookup(fqn_resolve(def), (key))
#define bpf_map_update_elem(def, key, val, flags) \
	fqn_update(fqn_resolve(def), (key), (val), (flags))
#define bpf_map_delete_elem(def, key) fqn_delete(fqn_resolve(def), (key))
#define bpf_ringbuf_output(def, data, size, flags) fqn_ringbuf_output((data), (size))
#define bpf_spin_lock(lock) ((void)(lock))
#define bpf_spin_unlock(lock) ((void)(lock))

long fqn_ringbuf_output(const void *data, __u64 size);
__u64 bpf_ktime_get_ns(void);

/* tc and XDP-frags entry points are compiled but never run natively */
static inline long bpf_skb_pull_data(void *skb, __u32 len) { return -1; }
static inline int bpf_xdp_get_buff_len(void *ctx) { return 0; }

#endif
