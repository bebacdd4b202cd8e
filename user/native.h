/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * native.h - the native engine: the datapath of bpf/flowqoe.bpf.c compiled
 * as userspace C (user/native.c) and run by `flowqoe replay --engine
 * native`, with no BPF program, no map syscall and no privilege.  One
 * engine per process at a time, one packet at a time.
 */
#ifndef FQ_NATIVE_H
#define FQ_NATIVE_H

#include <stddef.h>
#include <stdint.h>
#include "flowqoe.h"
#include "fqn_map.h"

struct fqn_cfg {
	uint32_t max_flows;   /* fq_flows, fq_cic and fq_conv max_entries */
	uint64_t win_ns;      /* cfg_win_ns (0: no window records) */
	uint64_t act_ns;      /* cfg_cic_act_ns */
	/* a closed window record (what the kernel engine's ring buffer carries) */
	void (*on_rec)(void *ctx, void *data, size_t len);
	void *ctx;
};

/* What the datapath reported for the packet run last (the .bss fields
 * fq_cic_ev, fq_cic_first, fq_cic_key of the kernel engine). */
struct fqn_event {
	uint32_t ev;
	uint64_t first;
	struct fq_flow_key key;
};

int fqn_open(const struct fqn_cfg *cfg); /* 0, or -errno */
void fqn_close(void);
/* one frame, with the capture time as the datapath's clock (the XDP
 * program's work on it, as fq_xdp_replay does it) */
void fqn_run(const void *frame, uint32_t len, uint64_t ts_ns, struct fqn_event *ev);
/* a map by its name in bpf/ (fq_flows, fq_cic, fq_conv, fq_totals,
 * fq_winctr, ...), NULL if there is none */
struct fqn_map *fqn_map_by_name(const char *name);

#endif
