// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowqoe replay FILE: a capture through the datapath (BPF_PROG_RUN), one
 * CICFlowMeter-style row per flow.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include "common.h"
#include "cmds.h"
#include "cic.h"
#include "replay.h"
#include "winpipe.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flowqoe replay FILE [--csv OUT|-] [--json] [--names cic2017|cic2018]\n"
		"                      [--flow-timeout S] [--activity-timeout S] [--fin-linger S]\n"
		"                      [--cic-compat] [--label TEXT] [--max-flows N]\n"
		"                      [--engine kernel|native]\n"
		"                      [--windows OUT|- [--windows-json]] [--window MS]\n"
		"                      [--model FILE [--workers N] [--conv-timeout S]]\n"
		"       flowqoe replay FILE --query --by proto|ip (--top K | --above-percent H |\n"
		"                      --above-sigma X) [--window T] [--every S] [--json]\n"
		"       flowqoe replay --explain-features\n"
		"\n"
		"Runs every packet of a pcap/pcapng file (Ethernet, raw IPv4/IPv6, Linux SLL/SLL2,\n"
		"BSD loopback) through the XDP program attach loads, with the capture time as its\n"
		"clock, and writes one row per flow with the CICFlowMeter feature set.\n"
		"  --engine E          kernel (default): BPF_PROG_RUN of the XDP program, needs root\n"
		"                      (CAP_BPF, CAP_SYS_ADMIN); native: the same datapath source\n"
		"                      compiled as userspace C, no root, no syscall per packet, same\n"
		"                      rows (tests/data/replay_engines.sh)\n"
		"  --csv OUT           write CSV to OUT ('-': stdout, the default)\n"
		"  --json              JSON lines instead of CSV (same names)\n"
		"  --names SCHEME      column names of the CIC-IDS2017 (default) or CIC-IDS2018 CSVs\n"
		"  --flow-timeout S    a flow ends S seconds after its first packet (120)\n"
		"  --activity-timeout S  a gap longer than S ends an active period (5)\n"
		"  --fin-linger S      after FIN both ways or RST, the flow ends S later (1)\n"
		"  --cic-compat        reproduce CICFlowMeter-V3's numbers, bugs included\n"
		"                      (a TCP flow ends at its first FIN; see docs/features.md)\n"
		"  --label TEXT        Label column (default NeedManualLabel)\n"
		"  --max-flows N       flows open at once (default 262144, memory used as needed)\n"
		"  --explain-features  print every feature's definition\n"
		"\n"
		"Per-conversation window records and classifiers, as `flowqoe attach` (capture time;\n"
		"with one of them and no --csv, no flow rows are written):\n"
		"  --windows OUT       one record per window (CSV; '-': stdout)\n"
		"  --windows-json      ... as JSON lines instead\n"
		"  --window MS         window length, 10 .. 10000 ms (default 33)\n"
		"  --model FILE        classify every window record; the aggregate table (JSON with\n"
		"                      --json) goes to stdout at the end\n"
		"  --workers N         classifier threads (1 .. 64, default 1; same table for any N)\n"
		"  --conv-timeout S    close a classified conversation after S s of capture time\n"
		"                      without records (default 10)\n"
		"A conversation stays in the datapath for the whole capture; the windows still open\n"
		"at its end are ended at the end of the file.  A window record lost (ring buffer\n"
		"or conversation table full) is an error: exit 1.\n"
		"\n"
		"--query: the rest of the arguments are those of `flowqoe query --pcap FILE` (same\n"
		"engine, same output; --window T in seconds there, default 60).\n"
		"A summary goes to stderr.  Exit 1 if the file cannot be read (to its end).\n");
}

static void on_flow(void *ctx, const struct fq_flow_rec *r, const struct fq_cic *c,
		    enum fq_end_reason why)
{
	fq_cic_row(ctx, r, c);
}

/* Window records go to the same pipeline as attach's (winpipe.c). */
struct rwin {
	struct fq_winpipe *p;
	uint64_t since_drain;
};

/* Records come far faster than live: wait for the classifier before its
 * queues (65536 per worker) could fill, so none is dropped and the table
 * does not depend on the number of workers or on the machine's load. */
#define RWIN_DRAIN 16384

static void on_win(void *ctx, const struct fq_win_rec *r)
{
	struct rwin *w = ctx;
	struct fq_clf *c = fq_winpipe_clf(w->p);

	if (c && ++w->since_drain >= RWIN_DRAIN) {
		fq_clf_drain(c);
		w->since_drain = 0;
	}
	fq_winpipe_rec(w->p, r);
}

/* Conversation timeouts by capture time: every record so far classified
 * first, so the aggregator's state at `now` is the same with any workers. */
static void on_tick(void *ctx, uint64_t now)
{
	struct rwin *w = ctx;
	struct fq_clf *c = fq_winpipe_clf(w->p);

	if (!c)
		return;
	fq_clf_drain(c);
	w->since_drain = 0;
	fq_winpipe_tick(w->p, now);
}

/* replay FILE --query ARGS: `query --pcap FILE ARGS` (one engine). */
static int replay_query(int argc, char **argv, int qi)
{
	char **qv;
	int n = 0, rc;

	if (qi != 2 || argc < 3 || argv[1][0] == '-') {
		fq_err("replay --query: FILE first (flowqoe replay FILE --query --by ...)");
		return FQ_EXIT_USAGE;
	}
	for (int i = 3; i < argc; i++)
		if (!strncmp(argv[i], "--pcap", 6) || !strncmp(argv[i], "--server", 8)) {
			fq_err("replay --query: %s is not a capture query option", argv[i]);
			return FQ_EXIT_USAGE;
		}
	qv = calloc(argc + 2, sizeof(*qv));
	if (!qv)
		return FQ_EXIT_FAIL;
	qv[n++] = "query";
	qv[n++] = "--pcap";
	qv[n++] = argv[1];
	for (int i = 3; i < argc; i++)
		qv[n++] = argv[i];
	rc = do_query(n, qv);
	free(qv);
	return rc;
}

enum { OPT_WIN = 1100 };

int do_replay(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "csv", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "names", required_argument, NULL, 'n' },
		{ "flow-timeout", required_argument, NULL, 't' },
		{ "activity-timeout", required_argument, NULL, 'a' },
		{ "fin-linger", required_argument, NULL, 'f' },
		{ "cic-compat", no_argument, NULL, 'c' },
		{ "label", required_argument, NULL, 'l' },
		{ "max-flows", required_argument, NULL, 'm' },
		{ "engine", required_argument, NULL, 'E' },
		{ "explain-features", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		/* winpipe's options, in fq_winpipe_opt's order */
		{ "windows", required_argument, NULL, OPT_WIN + 0 },
		{ "windows-json", no_argument, NULL, OPT_WIN + 1 },
		{ "window", required_argument, NULL, OPT_WIN + 2 },
		{ "model", required_argument, NULL, OPT_WIN + 3 },
		{ "workers", required_argument, NULL, OPT_WIN + 4 },
		{ "conv-timeout", required_argument, NULL, OPT_WIN + 5 },
		{ 0 },
	};
	struct fq_winpipe_opts wopt = FQ_WINPIPE_DEFAULTS;
	struct rwin rw = { 0 };
	bool have_csv = false, win_only_opt = false;
	struct fq_replay_opts o = {
		.flow_timeout_ns = 120ULL * 1000000000,
		.act_timeout_ns = 5ULL * 1000000000,
		.fin_linger_ns = 1000000000ULL,
	};
	struct fq_cic_writer w = { .names = FQ_CIC_NAMES_2017, .json = fq_json };
	struct fq_replay_stats st;
	const char *out = "-";
	double d;
	uint64_t u;
	int opt, rc;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--query"))
			return replay_query(argc, argv, i);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; have_csv = true; break;
		case 'j': w.json = true; break;
		case 'n':
			if (!strcmp(optarg, "cic2017"))
				w.names = FQ_CIC_NAMES_2017;
			else if (!strcmp(optarg, "cic2018"))
				w.names = FQ_CIC_NAMES_2018;
			else {
				fq_err("--names: cic2017 or cic2018, not '%s'", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 't':
		case 'a':
		case 'f':
			if (fq_parse_double(optarg, &d) || d < 0 || d > 1e9) {
				fq_err("bad number of seconds '%s'", optarg);
				return FQ_EXIT_USAGE;
			}
			*(opt == 't' ? &o.flow_timeout_ns : opt == 'a' ? &o.act_timeout_ns : &o.fin_linger_ns) =
				(uint64_t)(d * 1e9);
			break;
		case 'c': o.cic_compat = w.compat = true; break;
		case 'l': w.label = optarg; break;
		case 'm':
			if (fq_parse_u64(optarg, &u) || u < 1 || u > (1u << 26)) {
				fq_err("--max-flows: 1 .. %u", 1u << 26);
				return FQ_EXIT_USAGE;
			}
			o.max_flows = u;
			break;
		case 'E':
			if (!strcmp(optarg, "native") || !strcmp(optarg, "kernel")) {
				o.native = optarg[0] == 'n';
			} else {
				fq_err("--engine: kernel or native, not '%s'", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'e': fq_cic_explain(stdout); return FQ_EXIT_OK;
		case 'h': usage(stdout); return FQ_EXIT_OK;
		case OPT_WIN + 0 ... OPT_WIN + 5:
			if (fq_winpipe_opt(&wopt, opt - OPT_WIN, optarg))
				return FQ_EXIT_USAGE;
			if (opt != OPT_WIN + 0 && opt != OPT_WIN + 3)
				win_only_opt = true;
			break;
		default: usage(stderr); return FQ_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return FQ_EXIT_USAGE;
	}
	if (win_only_opt && !fq_winpipe_enabled(&wopt)) {
		fq_err("--windows-json, --window, --workers and --conv-timeout need --windows or --model");
		return FQ_EXIT_USAGE;
	}
	if (wopt.model_path) {
		/* a model that cannot be used is bad input (exit 2), found
		 * before the capture is read */
		struct fq_clf_model m;
		void *h;

		if (fq_clf_model_load(wopt.model_path, &m, &h))
			return FQ_EXIT_USAGE;
		fq_clf_model_unload(h);
	}
	if (fq_winpipe_enabled(&wopt)) {
		if (wopt.windows_path && !strcmp(wopt.windows_path, "-") && have_csv && !strcmp(out, "-")) {
			fq_err("--windows - and --csv - both on stdout: give one of them a file");
			return FQ_EXIT_USAGE;
		}
		/* capture time is Unix time: no epoch offset */
		rw.p = fq_winpipe_new(&wopt, 0, w.json);
		if (!rw.p)
			return FQ_EXIT_FAIL;
		o.win_ns = wopt.window_ns;
		o.on_win = on_win;
		o.on_tick = wopt.model_path ? on_tick : NULL;
		/* conversations closed within 1 s (or a tenth of the timeout) of
		 * capture time after their timeout, as attach's expiry */
		o.tick_ns = wopt.conv_timeout_ns / 10 < 1000000000ULL ? wopt.conv_timeout_ns / 10 : 1000000000ULL;
		if (o.tick_ns < 1000000)
			o.tick_ns = 1000000;
		o.win_ctx = &rw;
	}
	if (fq_winpipe_enabled(&wopt) && !have_csv) {
		w.f = NULL; /* windows/classes only: no flow rows */
	} else if (!strcmp(out, "-")) {
		w.f = stdout;
	} else {
		w.f = fopen(out, "w");
		if (!w.f) {
			fq_err("%s: %m", out);
			return FQ_EXIT_FAIL;
		}
	}
	if (w.f) {
		o.on_flow = on_flow;
		o.ctx = &w;
		fq_cic_header(&w);
	}
	rc = fq_replay_file(argv[optind], &o, &st);
	if (w.f && (fflush(w.f) || (w.f != stdout && fclose(w.f)))) {
		fq_err("%s: write failed: %m", out);
		rc = -1;
	}
	if (rw.p) {
		/* drains the workers, prints the table (--model), closes --windows */
		fq_winpipe_finish(rw.p, -1);
	}
	if (st.packets || rc == 0)
		fprintf(stderr,
			"%s: %llu packets (%llu bytes), %llu flows in %.3f s (%.0f pkt/s, %.0f ns/pkt in %s); skipped: %llu empty, %llu link, %llu oversize; %llu snaplen-padded, %llu timestamps backwards, %llu parse errors, %llu untracked\n",
			argv[optind], (unsigned long long)st.packets, (unsigned long long)st.bytes,
			(unsigned long long)st.flows, st.run_s, st.run_s > 0 ? st.run / st.run_s : 0,
			o.native ? (st.run ? st.run_s * 1e9 / st.run : 0)
				 : (st.run ? (double)st.prog_ns / st.run : 0),
			o.native ? "the loop, native engine" : "BPF",
			(unsigned long long)st.skip_empty, (unsigned long long)st.skip_link,
			(unsigned long long)st.skip_big, (unsigned long long)st.snap_padded,
			(unsigned long long)st.ts_backwards, (unsigned long long)st.parse_errors,
			(unsigned long long)st.untracked);
	if (rw.p && (st.packets || rc == 0))
		fprintf(stderr, "%s: %llu window records of %.3f ms, %llu lost\n", argv[optind],
			(unsigned long long)st.win_records, o.win_ns / 1e6,
			(unsigned long long)st.win_lost);
	if (st.win_lost || st.win_conv_full) {
		fq_err("%s: window records lost: %llu (ring buffer full), packets of conversations the table could not take: %llu; the records are incomplete",
		       argv[optind], (unsigned long long)st.win_lost,
		       (unsigned long long)st.win_conv_full);
		rc = -1;
	}
	if (st.untracked)
		fq_warn("%s: %llu packets of flows the full flow table could not take: raise --max-flows",
			argv[optind], (unsigned long long)st.untracked);
	return rc ? FQ_EXIT_FAIL : FQ_EXIT_OK;
}

/* ---- attach --csv: the same rows live, one per expired flow --------------
 * Option values 1160..1175 (attach.h: 1000 + 16 * k ranges, k = 10). */
#include <errno.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "flowqoe.skel.h"

enum { OPT_CSV = 1160, OPT_CSV_NAMES, OPT_CSV_COMPAT, OPT_CSV_LABEL };

static const struct option csv_opts[] = {
	{ "csv", required_argument, NULL, OPT_CSV },
	{ "csv-names", required_argument, NULL, OPT_CSV_NAMES },
	{ "csv-cic-compat", no_argument, NULL, OPT_CSV_COMPAT },
	{ "csv-label", required_argument, NULL, OPT_CSV_LABEL },
	{ NULL, 0, NULL, 0 },
};

static struct {
	const char *path;
	struct fq_cic_writer w;
	int cic_fd;
	void (*prev_end)(struct fq_attach_ctx *, const struct fq_flow_rec *, enum fq_end_reason);
} cs = { .cic_fd = -1 };

static int csv_opt(struct fq_attach_ctx *ac, int val, const char *arg)
{
	switch (val) {
	case OPT_CSV: cs.path = arg; return 0;
	case OPT_CSV_NAMES:
		if (!strcmp(arg, "cic2017"))
			cs.w.names = FQ_CIC_NAMES_2017;
		else if (!strcmp(arg, "cic2018"))
			cs.w.names = FQ_CIC_NAMES_2018;
		else {
			fq_err("--csv-names: cic2017 or cic2018, not '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_CSV_COMPAT: cs.w.compat = true; return 0;
	case OPT_CSV_LABEL: cs.w.label = arg; return 0;
	}
	return -1;
}

static int csv_before_load(struct fq_attach_ctx *ac)
{
	/* replay's fragment-capable twin of fq_xdp is never attached */
	bpf_program__set_autoload(ac->skel->progs.fq_xdp_replay, false);
	if (!cs.path)
		return 0;
	ac->skel->rodata->cfg_cic = 1;
	return bpf_map__set_max_entries(ac->skel->maps.fq_cic,
					bpf_map__max_entries(ac->skel->maps.fq_flows));
}

static void csv_on_end(struct fq_attach_ctx *ac, const struct fq_flow_rec *r, enum fq_end_reason why)
{
	struct fq_cic c;

	/* atomically, so a packet racing the flow's end cannot be half in */
	if (bpf_map_lookup_and_delete_elem_flags(cs.cic_fd, &r->key, &c, BPF_F_LOCK))
		memset(&c, 0, sizeof(c));
	fq_cic_row(&cs.w, r, &c);
	fflush(cs.w.f);
	if (cs.prev_end)
		cs.prev_end(ac, r, why);
}

static int csv_start(struct fq_attach_ctx *ac)
{
	if (!cs.path)
		return 0;
	cs.w.f = strcmp(cs.path, "-") ? fopen(cs.path, "w") : stdout;
	if (!cs.w.f) {
		fq_err("--csv %s: %s", cs.path, strerror(errno));
		return -1;
	}
	cs.w.epoch_off = ac->epoch_off;
	cs.cic_fd = bpf_map__fd(ac->skel->maps.fq_cic);
	fq_cic_header(&cs.w);
	fflush(cs.w.f);
	cs.prev_end = ac->on_end;
	ac->on_end = csv_on_end;
	return 0;
}

static void csv_stop(struct fq_attach_ctx *ac)
{
	if (cs.w.f && cs.w.f != stdout)
		fclose(cs.w.f);
	cs.w.f = NULL;
}

static struct fq_attach_hook csv_hook = {
	.name = "csv",
	.opts = csv_opts,
	.usage = "CICFlowMeter rows (the columns of `flowqoe replay`), one per expired flow:\n"
		 "  --csv FILE         write them to FILE ('-': stdout)\n"
		 "  --csv-names SCHEME cic2017 (default) or cic2018 column names\n"
		 "  --csv-cic-compat   CICFlowMeter's numbers, bugs included (docs/features.md)\n"
		 "  --csv-label TEXT   Label column (default NeedManualLabel)\n",
	.opt = csv_opt,
	.before_load = csv_before_load,
	.start = csv_start,
	.stop = csv_stop,
};

__attribute__((constructor)) static void csv_register(void)
{
	fq_attach_register(&csv_hook);
}
