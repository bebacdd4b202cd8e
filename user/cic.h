/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cic - the CICFlowMeter feature set computed from struct fq_flow +
 * struct fq_cic, written as CSV with the CIC-IDS2017 or CIC-IDS2018
 * column names, or as JSON lines.  Definitions: docs/features.md and
 * `flowqoe replay --explain-features`.
 */
#ifndef FQ_CIC_H
#define FQ_CIC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "flowqoe.h"
#include "flowtab.h"

enum fq_cic_names { FQ_CIC_NAMES_2017 = 0, FQ_CIC_NAMES_2018 };

struct fq_cic_writer {
	FILE *f;
	enum fq_cic_names names;
	bool compat;      /* reproduce CICFlowMeter's numbers (bugs included) */
	bool json;        /* JSON lines instead of CSV */
	const char *label;
	int64_t epoch_off; /* program clock -> Unix ns (0 in replay) */
	uint64_t rows;
};

/* Number of numeric feature columns (Flow Duration .. Idle Min). */
#define FQ_CIC_NFEAT 77

/* Column name of numeric feature i in a naming scheme (NULL: not in it). */
const char *fq_cic_feat_name(int i, enum fq_cic_names names);
/* The numeric features of a flow, in column order. */
void fq_cic_features(const struct fq_flow_rec *r, const struct fq_cic *c, bool compat,
		     double v[FQ_CIC_NFEAT]);

void fq_cic_header(struct fq_cic_writer *w);
void fq_cic_row(struct fq_cic_writer *w, const struct fq_flow_rec *r, const struct fq_cic *c);
void fq_cic_explain(FILE *f);

/* "a.b.c.d-e.f.g.h-p1-p2-proto" as CICFlowMeter forms it (compat: its
 * signed-byte address order; default: flowqoe's key order). */
void fq_cic_flow_id(const struct fq_flow_rec *r, bool compat, char *buf, size_t len);

#endif
