/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The attach loop and the hooks other features use to join it. */
#ifndef FQ_ATTACH_H
#define FQ_ATTACH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>
#include <jansson.h>
#include "flowtab.h"

enum fq_mode { FQ_MODE_AUTO = 0, FQ_MODE_NATIVE, FQ_MODE_SKB, FQ_MODE_TC };
const char *fq_mode_str(enum fq_mode m);
int fq_mode_parse(const char *s, enum fq_mode *m);

/* What an attach did to an interface: /run/flowqoe/IFACE.state */
struct fq_state {
	int pid;
	enum fq_mode mode;
	unsigned int xdp_flags;
	unsigned int xdp_prog_id;
	int tc_egress, tc_ingress;
	int clsact_created;
	unsigned int max_flows;
};
int fq_state_write(const char *ifname, const struct fq_state *st);
int fq_state_read(const char *ifname, struct fq_state *st);

struct flowqoe; /* skeleton */

struct fq_attach_ctx {
	const char *ifname;
	struct flowqoe *skel;
	enum fq_mode mode;
	int flows_fd, totals_fd;
	int64_t epoch_off;       /* program clock -> Unix time, ns */
	double interval_s;
	int top;
	bool json, quiet;
	struct fq_expiry expiry;
	uint64_t ended;          /* flows expired and emitted */
	/* called for each expired flow (exactly once per flow) */
	void (*on_end)(struct fq_attach_ctx *ac, const struct fq_flow_rec *r, enum fq_end_reason why);
	/* called every interval with the live (non-expired) flows and totals */
	void (*on_poll)(struct fq_attach_ctx *ac, const struct fq_flow_rec *recs, long n,
			const struct fq_totals *t);
	void *priv[8];           /* per-feature state, indexed by feature */
};

/*
 * A feature that joins `flowqoe attach` (CSV output, queries, HTTP,
 * classifiers) registers a hook from a constructor in its own file, so
 * cmd_attach.c needs no edit per feature:
 *
 *   static struct fq_attach_hook h = { .name = "csv", .opts = csv_opts, ... };
 *   __attribute__((constructor)) static void reg(void) { fq_attach_register(&h); }
 *
 * opts: long options (getopt_long, terminated by a zeroed entry) whose .val
 * is unique across hooks (use 1000 + 16 * k ranges); opt() gets each one.
 * usage: lines appended to `attach --help`.  parse_done() runs after all
 * options, start() after the programs are attached (skeleton and map fds
 * in ac), stop() on every exit path.  Any non-zero return aborts attach.
 * (build/flowqoe links every user object directly, so constructors run.)
 */
struct fq_attach_hook {
	const char *name;
	const struct option *opts;
	const char *usage;
	int (*opt)(struct fq_attach_ctx *ac, int val, const char *arg);
	int (*parse_done)(struct fq_attach_ctx *ac);
	/* between open and load: set rodata knobs, map sizes (ac->skel is set) */
	int (*before_load)(struct fq_attach_ctx *ac);
	int (*start)(struct fq_attach_ctx *ac);
	void (*stop)(struct fq_attach_ctx *ac);
	struct fq_attach_hook *next;
};
void fq_attach_register(struct fq_attach_hook *h);

int fq_bpffs_ensure(void);
int fq_totals_read(int fd, struct fq_totals *out);
json_t *fq_totals_json(const struct fq_totals *t);
int fq_open_pinned(const char *ifname, const char *map);
/* the top flows by bytes of tab (those listed in idx, or all n if NULL) */
void fq_print_flow_table(FILE *out, const struct fq_flowtab *tab, const uint32_t *idx, long n,
			 int top, const struct fq_totals *t, const char *ifname);

#endif
