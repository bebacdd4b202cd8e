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

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flowqoe replay FILE [--csv OUT|-] [--json] [--names cic2017|cic2018]\n"
		"                      [--flow-timeout S] [--activity-timeout S] [--fin-linger S]\n"
		"                      [--cic-compat] [--label TEXT] [--max-flows N]\n"
		"       flowqoe replay --explain-features\n"
		"\n"
		"Runs every packet of a pcap/pcapng file (Ethernet, raw IPv4/IPv6, Linux SLL/SLL2,\n"
		"BSD loopback) through the XDP program attach loads, with the capture time as its\n"
		"clock, and writes one row per flow with the CICFlowMeter feature set (needs root).\n"
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
		"A summary goes to stderr.  Exit 1 if the file cannot be read (to its end).\n");
}

static void on_flow(void *ctx, const struct fq_flow_rec *r, const struct fq_cic *c,
		    enum fq_end_reason why)
{
	fq_cic_row(ctx, r, c);
}

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
		{ "explain-features", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
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

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
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
		case 'e': fq_cic_explain(stdout); return FQ_EXIT_OK;
		case 'h': usage(stdout); return FQ_EXIT_OK;
		default: usage(stderr); return FQ_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return FQ_EXIT_USAGE;
	}
	if (!strcmp(out, "-")) {
		w.f = stdout;
	} else {
		w.f = fopen(out, "w");
		if (!w.f) {
			fq_err("%s: %m", out);
			return FQ_EXIT_FAIL;
		}
	}
	o.on_flow = on_flow;
	o.ctx = &w;
	fq_cic_header(&w);
	rc = fq_replay_file(argv[optind], &o, &st);
	if (fflush(w.f) || (w.f != stdout && fclose(w.f))) {
		fq_err("%s: write failed: %m", out);
		rc = -1;
	}
	if (st.packets || rc == 0)
		fprintf(stderr,
			"%s: %llu packets (%llu bytes), %llu flows in %.3f s (%.0f pkt/s, %.0f ns/pkt in BPF); skipped: %llu empty, %llu link, %llu oversize; %llu snaplen-padded, %llu timestamps backwards, %llu parse errors, %llu untracked\n",
			argv[optind], (unsigned long long)st.packets, (unsigned long long)st.bytes,
			(unsigned long long)st.flows, st.run_s, st.run_s > 0 ? st.run / st.run_s : 0,
			st.run ? (double)st.prog_ns / st.run : 0,
			(unsigned long long)st.skip_empty, (unsigned long long)st.skip_link,
			(unsigned long long)st.skip_big, (unsigned long long)st.snap_padded,
			(unsigned long long)st.ts_backwards, (unsigned long long)st.parse_errors,
			(unsigned long long)st.untracked);
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
