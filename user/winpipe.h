/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The window pipeline shared by attach and replay: window records go to an
 * optional output file (--windows) and an optional classifier (--model,
 * --workers) whose aggregate table is printed at the end and whose closed
 * conversations are reported as they close.
 */
#ifndef FQ_WINPIPE_H
#define FQ_WINPIPE_H

#include <stdbool.h>
#include <stdint.h>
#include "flowqoe.h"
#include "classify.h"

struct fq_winpipe_opts {
	const char *windows_path; /* --windows FILE ('-' = stdout) */
	bool windows_json;        /* --windows-json */
	uint64_t window_ns;       /* --window MS (10 ms .. 10 s), default 33 ms */
	const char *model_path;   /* --model FILE */
	int workers;              /* --workers N */
	uint64_t conv_timeout_ns; /* --conv-timeout S */
};

#define FQ_WINPIPE_DEFAULTS { .window_ns = 33000000ULL, .workers = 1, .conv_timeout_ns = 10000000000ULL }

/* Option index: 0 windows, 1 windows-json, 2 window, 3 model, 4 workers,
 * 5 conv-timeout.  Returns 0 or prints an error and returns -1. */
int fq_winpipe_opt(struct fq_winpipe_opts *o, int idx, const char *arg);
bool fq_winpipe_enabled(const struct fq_winpipe_opts *o);

#define FQ_WINPIPE_USAGE                                                                   \
	"per-conversation windows and classifiers:\n"                                        \
	"  --windows FILE     write one record per closed window (CSV; '-' = stdout)\n"      \
	"  --windows-json     ... as JSON lines instead\n"                                   \
	"  --window MS        window length, 10 .. 10000 ms (default 33)\n"                 \
	"  --model FILE       classify every window record with a flowqoe model\n"          \
	"                     (models/FORMAT.md; features named fwd_/bwd_ size_mean,\n"     \
	"                     size_std, iat_mean, iat_std, bytes, packets)\n"               \
	"  --workers N        classifier threads (default 1); records of a conversation\n"  \
	"                     stay on one thread, in order; a full queue counts a drop\n"   \
	"  --conv-timeout S   close a conversation after S s without records (default 10)\n"

struct fq_winpipe;
struct fq_winpipe *fq_winpipe_new(const struct fq_winpipe_opts *o, int64_t epoch_off, bool json);
void fq_winpipe_rec(struct fq_winpipe *p, const struct fq_win_rec *r);
void fq_winpipe_rec_cb(void *p, const struct fq_win_rec *r);
/* now: program clock; closes conversations idle past the timeout */
void fq_winpipe_tick(struct fq_winpipe *p, uint64_t now);
/* drain, close everything, print the aggregate table and counters, free.
 * winctr_fd: the fq_winctr map (ring-buffer losses), or -1. */
void fq_winpipe_finish(struct fq_winpipe *p, int winctr_fd);
struct fq_clf *fq_winpipe_clf(struct fq_winpipe *p);

/* Load a model file for window classification (user/clf_model.c). */
int fq_clf_model_load(const char *path, struct fq_clf_model *m, void **handle);
void fq_clf_model_unload(void *handle);

#endif
