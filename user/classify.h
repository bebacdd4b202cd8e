/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Classifier pipeline for window records: one intake (the ring-buffer
 * reader or replay), N worker threads, one aggregator.
 *
 * Records are spread over workers by conversation, so one conversation's
 * records are classified in order; each worker has a bounded queue, and a
 * record that finds its queue full is counted as dropped, never queued
 * without bound.  The aggregator keeps, per conversation, the records per
 * class, the latest class and first/last seen; a conversation with no
 * record for `timeout` is closed and reported.
 */
#ifndef FQ_CLASSIFY_H
#define FQ_CLASSIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>
#include "flowqoe.h"

/* Returns the class index for a feature vector (model's feature order). */
typedef int (*fq_predict_fn)(const void *model, const float *x);

struct fq_clf_model {
	const void *model;
	fq_predict_fn predict;
	int nclasses;
	const char *const *class_names;
	int nfeatures;
	int feat_idx[64]; /* model feature i = window feature feat_idx[i] */
};

struct fq_clf;

struct fq_clf_conv {
	struct fq_conv_key key;
	uint8_t initiator;
	uint64_t first_ns, last_ns; /* window starts, program clock */
	uint64_t records;
	int latest;
	uint64_t *per_class;        /* nclasses counters */
	struct fq_clf_conv *next;   /* hash chain */
};

/* names: the model's feature names; fails (-EINVAL, message) if a name is
 * not one of fq_win_feature_names. */
int fq_clf_model_map(struct fq_clf_model *m, const char *const *names, int n);

struct fq_clf *fq_clf_new(const struct fq_clf_model *m, int workers, size_t queue_len,
			  uint64_t timeout_ns);
/* Intake: never blocks; returns 0 or -ENOBUFS (counted as dropped). */
int fq_clf_submit(struct fq_clf *c, const struct fq_win_rec *r);
/* Wait until every submitted record has been classified. */
void fq_clf_drain(struct fq_clf *c);
/* Close conversations idle since before now_ns - timeout (all: every one);
 * each is passed to cb (under the aggregator lock) then freed. */
typedef void (*fq_clf_end_cb)(void *ctx, const struct fq_clf_conv *cv);
long fq_clf_expire(struct fq_clf *c, uint64_t now_ns, bool all, fq_clf_end_cb cb, void *ctx);
void fq_clf_free(struct fq_clf *c);

struct fq_clf_stats {
	uint64_t submitted, classified, dropped, closed;
	uint64_t *per_class_records; /* nclasses, owned by c */
	uint64_t *per_class_convs;   /* open conversations whose latest class is i */
	long open;
};
void fq_clf_stats(struct fq_clf *c, struct fq_clf_stats *s);

/*
 * A consistent copy of a classifier's counters (taken under the aggregator
 * lock), owned by the caller: for readers on other threads, e.g. the HTTP
 * exporter.  table: also the aggregate table (fq_clf_table_json).
 */
struct fq_clf_snap {
	uint64_t submitted;       /* records handed to the classifier */
	uint64_t classified;      /* records classified and aggregated */
	uint64_t dropped;         /* records dropped (queue full, no memory) */
	uint64_t closed;          /* conversations closed (timeout) */
	long open;                /* conversations open */
	int workers;
	int nclasses;
	const char **class_names; /* copies */
	uint64_t *records;        /* per class: records classified as it */
	uint64_t *convs;          /* per class: open conversations whose latest class it is */
	uint64_t *closed_convs;   /* per class: closed conversations whose last class it was */
	json_t *table;            /* NULL unless asked for */
	char *names_buf;
};
struct fq_clf_snap *fq_clf_snap_new(struct fq_clf *c, bool table, int64_t epoch_off);
void fq_clf_snap_free(struct fq_clf_snap *s);

/*
 * The classifier of the running attach, published by the window hook
 * (cmd_windows.c) for other attach hooks that cannot see its state (the
 * HTTP exporter renders it in /metrics and /api/v1/classes).  At most one;
 * fq_clf_publish(NULL) withdraws it and returns once no reader holds it,
 * so the caller may free it next.  fq_clf_published_snap: NULL when none is
 * published (or no memory).  fq_clf_published_gen changes whenever a
 * classifier's counts may have changed (cheap: one atomic load), so a
 * response cache can tell that a snapshot went stale.
 */
void fq_clf_publish(struct fq_clf *c);
struct fq_clf_snap *fq_clf_published_snap(bool table, int64_t epoch_off);
bool fq_clf_is_published(void);
uint64_t fq_clf_published_gen(void);

/* The aggregate table, sorted by conversation key: JSON array, or text. */
json_t *fq_clf_table_json(struct fq_clf *c, int64_t epoch_off);
void fq_clf_table_print(struct fq_clf *c, FILE *f);
json_t *fq_clf_conv_json(const struct fq_clf *c, const struct fq_clf_conv *cv, int64_t epoch_off);

#endif
