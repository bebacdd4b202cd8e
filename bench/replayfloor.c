// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * replayfloor - the floor under `flowqoe replay`'s packet rate: the same
 * loop over the same capture (libpcap, fq_replay_frame, one BPF_PROG_RUN a
 * packet, the same page-size split between the XDP and XDP-frags program)
 * with programs that return XDP_PASS and do nothing.  Its rate is what the
 * kernel's BPF_PROG_RUN path allows one core before any accounting is done;
 * bench/replay.sh prints flowqoe's loop next to it.
 *   replayfloor FILE   prints: packets seconds pkt/s ns/pkt-in-BPF
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "fq_pcap.h"
#include "replay.h"
#include "bench.h"
#include "empty.skel.h"

/* as user/replay.c: frames up to this length go to the one-page program */
#define LINEAR 3000

int main(int argc, char **argv)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	struct bench_empty *em;
	uint64_t n = 0, prog_ns = 0;
	uint8_t *frame;
	double t0, t1;
	pcap_t *pc;
	int lt, rc;

	if (argc != 2) {
		fprintf(stderr, "usage: replayfloor FILE\n");
		return FQ_EXIT_USAGE;
	}
	pc = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fprintf(stderr, "replayfloor: %s: %s\n", argv[1], errbuf);
		return 1;
	}
	lt = pcap_datalink(pc);
	frame = malloc(FQ_REPLAY_MAX_FRAME);
	fq_libbpf_setup();
	em = bench_empty__open_and_load();
	if (!frame || !em) {
		fprintf(stderr, "replayfloor: cannot load the empty programs: %s\n", strerror(errno));
		return 1;
	}
	t0 = now_s();
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, tr);
		enum fq_replay_skip why;
		long fl = fq_replay_frame(lt, data, h->caplen, h->len, frame, &why);

		if (fl < 0)
			continue;
		tr.data_in = frame;
		tr.data_size_in = fl;
		if (bpf_prog_test_run_opts(bpf_program__fd(fl > LINEAR ? em->progs.empty_xdp_frags
								       : em->progs.empty_xdp), &tr))
			continue; /* as replay: counted apart there, left out here */
		n++;
		prog_ns += tr.duration;
	}
	t1 = now_s();
	printf("%llu %.3f %.0f %.0f\n", (unsigned long long)n, t1 - t0, n / (t1 - t0),
	       n ? (double)prog_ns / n : 0.0);
	bench_empty__destroy(em);
	pcap_close(pc);
	free(frame);
	return rc == -1 ? 1 : 0;
}
