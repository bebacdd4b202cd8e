// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach --windows / --model: per-conversation window records from the
 * ring buffer, written out and/or classified by worker threads.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "attach.h"
#include "classify.h"
#include "window.h"
#include "winpipe.h"
#include "flowqoe.skel.h"

enum { OPT_WINDOWS = 1100, OPT_WINDOWS_JSON, OPT_WINDOW, OPT_MODEL, OPT_WORKERS, OPT_CONV_TIMEOUT };

static const struct option win_opts[] = {
	{ "windows", required_argument, NULL, OPT_WINDOWS },
	{ "windows-json", no_argument, NULL, OPT_WINDOWS_JSON },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "conv-timeout", required_argument, NULL, OPT_CONV_TIMEOUT },
	{ NULL, 0, NULL, 0 },
};

static struct fq_winpipe_opts wopt = FQ_WINPIPE_DEFAULTS;
static struct fq_winpipe *pipe_;
static struct ring_buffer *rb;
static pthread_t th;
static volatile bool th_stop;
static bool th_started;
static struct fq_attach_ctx *actx;

static int win_opt(struct fq_attach_ctx *ac, int val, const char *arg)
{
	return fq_winpipe_opt(&wopt, val - OPT_WINDOWS, arg);
}

static int win_before_load(struct fq_attach_ctx *ac)
{
	if (!fq_winpipe_enabled(&wopt))
		return 0;
	ac->skel->rodata->cfg_win_ns = wopt.window_ns;
	return 0;
}

static int on_rec(void *ctx, void *data, size_t len)
{
	if (len >= sizeof(struct fq_win_rec))
		fq_winpipe_rec(pipe_, data);
	return 0;
}

static void *rb_thread(void *arg)
{
	int conv_fd = bpf_map__fd(actx->skel->maps.fq_conv);
	uint64_t last_flush = fq_now_mono_ns();

	while (!th_stop) {
		uint64_t now;

		ring_buffer__poll(rb, 20);
		now = fq_now_mono_ns();
		/* a conversation that fell silent keeps its last window open:
		 * end it one window length after it closed */
		if (now - last_flush >= wopt.window_ns || now - last_flush >= 100000000ULL) {
			fq_win_flush(conv_fd, now - wopt.window_ns, false, fq_winpipe_rec_cb, pipe_);
			fq_winpipe_tick(pipe_, now);
			last_flush = now;
		}
	}
	return NULL;
}

static int win_start(struct fq_attach_ctx *ac)
{
	if (!fq_winpipe_enabled(&wopt))
		return 0;
	actx = ac;
	pipe_ = fq_winpipe_new(&wopt, ac->epoch_off, ac->json);
	if (!pipe_)
		return -1;
	rb = ring_buffer__new(bpf_map__fd(ac->skel->maps.fq_winrb), on_rec, NULL, NULL);
	if (!rb) {
		fq_err("ring buffer: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(&th, NULL, rb_thread, NULL))
		return -1;
	th_started = true;
	/* the HTTP exporter's /metrics and /api/v1/classes read it from here */
	if (fq_winpipe_clf(pipe_))
		fq_clf_publish(fq_winpipe_clf(pipe_));
	return 0;
}

static void win_stop(struct fq_attach_ctx *ac)
{
	if (th_started) {
		th_stop = true;
		pthread_join(th, NULL);
		th_started = false;
		ring_buffer__consume(rb);
		fq_win_flush(bpf_map__fd(ac->skel->maps.fq_conv), 0, true, fq_winpipe_rec_cb, pipe_);
	}
	if (rb) {
		ring_buffer__free(rb);
		rb = NULL;
	}
	if (pipe_) {
		fq_clf_publish(NULL); /* no reader left once it returns */
		fq_winpipe_finish(pipe_, ac->skel ? bpf_map__fd(ac->skel->maps.fq_winctr) : -1);
		pipe_ = NULL;
	}
}

static struct fq_attach_hook win_hook = {
	.name = "windows",
	.opts = win_opts,
	.usage = FQ_WINPIPE_USAGE,
	.opt = win_opt,
	.before_load = win_before_load,
	.start = win_start,
	.stop = win_stop,
};

__attribute__((constructor)) static void win_register(void)
{
	fq_attach_register(&win_hook);
}
