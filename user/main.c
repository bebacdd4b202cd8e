// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowqoe - per-flow traffic statistics, classification and queries, with
 * the per-packet work done in the kernel by XDP and tc BPF programs.
 */
#include <stdio.h>
#include <string.h>
#include "common.h"
#include "cmds.h"

struct fq_cmd {
	const char *name;
	fq_cmd_fn fn;
	const char *summary;
};

static const struct fq_cmd cmds[] = {
	{ "attach", do_attach, "attach to an interface and monitor it (foreground)" },
	{ "flows", do_flows, "print the flows of a running attach" },
	{ "query", do_query, "window queries (top k, above H %, above X sigma) of a running attach or a capture" },
	{ "status", do_status, "list attached interfaces, programs, maps and counters" },
	{ "detach", do_detach, "remove everything flowqoe left on an interface" },
	{ "shape", do_shape, "limit an interface's bandwidth with token buckets in BPF maps" },
	{ "model", do_model, "predict with or explain a tree model converted from scikit-learn" },
	{ "replay", do_replay, "run a pcap/pcapng file through the datapath, one CICFlowMeter row per flow" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	const struct fq_cmd *c;

	fprintf(f, "usage: flowqoe [-v] [-j|--json] COMMAND [ARGS]\n\ncommands:\n");
	for (c = cmds; c->name; c++)
		fprintf(f, "  %-8s %s\n", c->name, c->summary);
	fprintf(f, "\n'flowqoe COMMAND --help' describes each command; commands may be\n"
		   "abbreviated to any unique prefix (as bpftool's are).\n");
}

int main(int argc, char **argv)
{
	const struct fq_cmd *c, *hit = NULL;
	int i = 1, nhit = 0;

	fq_libbpf_setup();
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose"))
			fq_verbosity++;
		else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			fq_json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return FQ_EXIT_OK;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			printf("flowqoe 0.1\n");
			return FQ_EXIT_OK;
		} else {
			fq_err("unknown option '%s'", argv[i]);
			usage(stderr);
			return FQ_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return FQ_EXIT_USAGE;
	}
	for (c = cmds; c->name; c++) {
		if (!strcmp(c->name, argv[i])) {
			hit = c;
			nhit = 1;
			break;
		}
		if (!strncmp(c->name, argv[i], strlen(argv[i]))) {
			hit = c;
			nhit++;
		}
	}
	if (nhit != 1) {
		fq_err("%s command '%s'", nhit ? "ambiguous" : "unknown", argv[i]);
		usage(stderr);
		return FQ_EXIT_USAGE;
	}
	return hit->fn(argc - i, argv + i);
}
