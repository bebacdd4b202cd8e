/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Per-conversation window records: features, output, ring-buffer intake. */
#ifndef FQ_WINDOW_USER_H
#define FQ_WINDOW_USER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "flowqoe.h"

/* The 12 numbers a cloud-gaming probe reports per window, forward
 * (conversation initiator -> responder) first.  Sizes in bytes, IATs in
 * microseconds, standard deviations are population (ddof = 0). */
#define FQ_WIN_NFEAT 12
extern const char *const fq_win_feature_names[FQ_WIN_NFEAT];

void fq_win_features(const struct fq_win_rec *r, double out[FQ_WIN_NFEAT]);

/* Output sink for --windows FILE: CSV (default) or JSON lines. */
struct fq_win_out {
	FILE *f;
	bool json;
	bool own;          /* close f at the end */
	int64_t epoch_off; /* program clock -> Unix ns (0 in replay) */
	uint64_t written;
};
int fq_win_out_open(struct fq_win_out *o, const char *path, bool json, int64_t epoch_off);
void fq_win_out_write(struct fq_win_out *o, const struct fq_win_rec *r);
void fq_win_out_close(struct fq_win_out *o);

/*
 * End windows that no packet will close: every conversation whose open
 * window ended before now_ns (program clock) is removed from the map and its
 * last window passed to cb.  all = true ends every conversation (exit,
 * end of a capture).  Returns the number of windows passed.
 */
typedef void (*fq_win_cb)(void *ctx, const struct fq_win_rec *r);
long fq_win_flush(int conv_fd, uint64_t now_ns, bool all, fq_win_cb cb, void *ctx);

#endif
