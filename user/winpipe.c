// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "window.h"
#include "winpipe.h"

struct fq_winpipe {
	struct fq_winpipe_opts o;
	struct fq_win_out out;
	bool have_out;
	struct fq_clf_model m;
	void *model_handle;
	struct fq_clf *clf;
	int64_t epoch_off;
	bool json;
	uint64_t records;
};

int fq_winpipe_opt(struct fq_winpipe_opts *o, int idx, const char *arg)
{
	double v;
	uint64_t u;

	switch (idx) {
	case 0:
		o->windows_path = arg;
		return 0;
	case 1:
		o->windows_json = true;
		return 0;
	case 2:
		if (fq_parse_double(arg, &v) || v < 10 || v > 10000) {
			fq_err("--window: '%s' is not a number of milliseconds in [10, 10000]", arg);
			return -1;
		}
		o->window_ns = v * 1e6;
		return 0;
	case 3:
		o->model_path = arg;
		return 0;
	case 4:
		if (fq_parse_u64(arg, &u) || u < 1 || u > 64) {
			fq_err("--workers: '%s' is not a count in [1, 64]", arg);
			return -1;
		}
		o->workers = u;
		return 0;
	case 5:
		if (fq_parse_double(arg, &v) || v <= 0 || v > 86400) {
			fq_err("--conv-timeout: '%s' is not a number of seconds in (0, 86400]", arg);
			return -1;
		}
		o->conv_timeout_ns = v * 1e9;
		return 0;
	}
	return -1;
}

bool fq_winpipe_enabled(const struct fq_winpipe_opts *o)
{
	return o->windows_path || o->model_path;
}

struct fq_winpipe *fq_winpipe_new(const struct fq_winpipe_opts *o, int64_t off, bool json)
{
	struct fq_winpipe *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return NULL;
	p->o = *o;
	p->epoch_off = off;
	p->json = json;
	if (o->windows_path) {
		err = fq_win_out_open(&p->out, o->windows_path, o->windows_json, off);
		if (err) {
			fq_err("--windows %s: %s", o->windows_path, strerror(-err));
			free(p);
			return NULL;
		}
		p->have_out = true;
	}
	if (o->model_path) {
		if (fq_clf_model_load(o->model_path, &p->m, &p->model_handle))
			goto fail;
		p->clf = fq_clf_new(&p->m, o->workers, 65536, o->conv_timeout_ns);
		if (!p->clf) {
			fq_err("starting %d classifier threads failed", o->workers);
			goto fail;
		}
	}
	return p;
fail:
	if (p->have_out)
		fq_win_out_close(&p->out);
	if (p->model_handle)
		fq_clf_model_unload(p->model_handle);
	free(p);
	return NULL;
}

struct fq_clf *fq_winpipe_clf(struct fq_winpipe *p)
{
	return p->clf;
}

void fq_winpipe_rec(struct fq_winpipe *p, const struct fq_win_rec *r)
{
	p->records++;
	if (p->have_out)
		fq_win_out_write(&p->out, r);
	if (p->clf)
		fq_clf_submit(p->clf, r);
}

void fq_winpipe_rec_cb(void *p, const struct fq_win_rec *r)
{
	fq_winpipe_rec(p, r);
}

static void conv_end(void *ctx, const struct fq_clf_conv *cv)
{
	struct fq_winpipe *p = ctx;
	json_t *o = fq_clf_conv_json(p->clf, cv, p->epoch_off);

	json_object_set_new(o, "type", json_string("conversation_end"));
	json_dumpf(o, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	fflush(stdout);
	json_decref(o);
}

void fq_winpipe_tick(struct fq_winpipe *p, uint64_t now)
{
	if (p->clf && p->json)
		fq_clf_expire(p->clf, now, false, conv_end, p);
	else if (p->clf)
		fq_clf_expire(p->clf, now, false, NULL, NULL);
}

void fq_winpipe_finish(struct fq_winpipe *p, int winctr_fd)
{
	uint64_t rb_full = 0, conv_full = 0;

	if (winctr_fd >= 0) {
		int ncpu = libbpf_num_possible_cpus();
		uint64_t (*v)[3] = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
		__u32 k = 0;

		if (v && bpf_map_lookup_elem(winctr_fd, &k, v) == 0)
			for (int c = 0; c < ncpu; c++) {
				rb_full += v[c][1];
				conv_full += v[c][2];
			}
		free(v);
	}
	if (p->clf) {
		struct fq_clf_stats s;

		fq_clf_drain(p->clf);
		fq_clf_stats(p->clf, &s);
		if (p->json) {
			json_t *o = json_object();

			json_object_set_new(o, "type", json_string("classes"));
			json_object_set_new(o, "conversations", fq_clf_table_json(p->clf, p->epoch_off));
			json_object_set_new(o, "records", json_integer(s.submitted));
			json_object_set_new(o, "classified", json_integer(s.classified));
			json_object_set_new(o, "dropped", json_integer(s.dropped));
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			json_decref(o);
		} else {
			fq_clf_table_print(p->clf, stdout);
			printf("window records %llu, classified %llu, dropped %llu\n",
			       (unsigned long long)s.submitted, (unsigned long long)s.classified,
			       (unsigned long long)s.dropped);
		}
		fq_clf_free(p->clf);
		fq_clf_model_unload(p->model_handle);
	}
	if (rb_full || conv_full)
		fq_warn("windows lost: %llu (ring buffer full), packets of untracked conversations: %llu",
			(unsigned long long)rb_full, (unsigned long long)conv_full);
	if (p->have_out)
		fq_win_out_close(&p->out);
	free(p);
}
