// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * native.c - the native engine (native.h): bpf/flowqoe.bpf.c, unchanged,
 * built as userspace C against user/native/ (UAPI types for vmlinux.h, and
 * a bpf_helpers.h whose map helpers call user/fqn_map.c).  The .rodata
 * knobs (FQ_RODATA) are plain globals here, set in fqn_open.
 */
#define FQ_RODATA volatile
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "flowqoe.bpf.c"
#include "native.h"

/* every map definition of the datapath, with the map made for it */
static struct {
	const void *def;
	struct fqn_map *map;
} reg[16];
static int nreg;
static struct fqn_cfg cur;

struct fqn_map *fqn_resolve(const void *def)
{
	for (int i = 0; i < nreg; i++)
		if (reg[i].def == def)
			return reg[i].map;
	/* a map the datapath uses that fqn_open did not make: a build bug */
	abort();
}

struct fqn_map *fqn_map_by_name(const char *name)
{
	for (int i = 0; i < nreg; i++)
		if (!strcmp(fqn_map_name(reg[i].map), name))
			return reg[i].map;
	return NULL;
}

long fqn_ringbuf_output(const void *data, __u64 size)
{
	if (cur.on_rec)
		cur.on_rec(cur.ctx, (void *)data, size);
	return 0;
}

__u64 bpf_ktime_get_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* type, key and value size as libbpf reads them from the definition */
#define MAP_TYPE(d) ((int)(sizeof(*(d).type) / sizeof(int)))
#define MAP_MAX(d) ((uint32_t)(sizeof(*(d).max_entries) / sizeof(int)))
#define ADD(d, max)                                                              \
	do {                                                                     \
		reg[nreg].def = &(d);                                            \
		reg[nreg].map = fqn_map_new(#d, MAP_TYPE(d), sizeof(*(d).key),   \
					    sizeof(*(d).value), (max));          \
		if (!reg[nreg++].map)                                            \
			goto fail;                                               \
	} while (0)

int fqn_open(const struct fqn_cfg *cfg)
{
	uint32_t mf = cfg->max_flows ? cfg->max_flows : FQ_DEFAULT_MAX_FLOWS;

	fqn_close();
	cur = *cfg;
	ADD(fq_flows, mf);
	ADD(fq_totals, MAP_MAX(fq_totals));
	ADD(fq_proto, MAP_MAX(fq_proto));
	ADD(fq_ether, MAP_MAX(fq_ether));
	ADD(fq_frags, MAP_MAX(fq_frags));
	ADD(fq_refused, MAP_MAX(fq_refused));
	ADD(fq_scratch, MAP_MAX(fq_scratch));
	ADD(fq_cic, mf);
	ADD(fq_cic_zero, MAP_MAX(fq_cic_zero));
	ADD(fq_conv, mf);
	ADD(fq_winscratch, MAP_MAX(fq_winscratch));
	ADD(fq_winctr, MAP_MAX(fq_winctr));
	/* as user/replay.c sets them for the kernel engine */
	cfg_replay_clock = 1;
	cfg_cic = 1;
	cfg_cic_act_ns = cfg->act_ns;
	cfg_win_ns = cfg->win_ns;
	fq_gso_split = 0;
	return 0;
fail:
	fqn_close();
	return -ENOMEM;
}

void fqn_close(void)
{
	for (int i = 0; i < nreg; i++)
		fqn_map_free(reg[i].map);
	nreg = 0;
	memset(&cur, 0, sizeof(cur));
}

void fqn_run(const void *frame, uint32_t len, uint64_t ts_ns, struct fqn_event *ev)
{
	void *data = (void *)frame;

	fq_clock_ns = ts_ns;
	fq_cic_ev = 0;
	fq_account(data, data + len, len, FQ_HOOK_INGRESS, 1, 0);
	ev->ev = fq_cic_ev;
	ev->first = fq_cic_first;
	memcpy(&ev->key, &fq_cic_key, sizeof(ev->key));
}
