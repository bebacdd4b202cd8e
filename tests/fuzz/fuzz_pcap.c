// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the capture reader (`make fuzz`): any byte string,
 * read as a capture file through libpcap as replay reads it, is either
 * refused by libpcap or walked record by record through fq_replay_frame.
 * Each frame must stay within FQ_REPLAY_MAX_FRAME and hold at least an
 * Ethernet header; an Ethernet record's frame must start with the captured
 * bytes and be zero past them.
 * Built with ASan/UBSan, so an out-of-bounds access is a crash.
 */
#include "fq_pcap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "replay.h"

#define MAX_RECORDS 4096

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t n)
{
	static uint8_t *frame;
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	FILE *f;
	pcap_t *pc;
	int lt, i;

	if (!frame && !(frame = malloc(FQ_REPLAY_MAX_FRAME)))
		abort();
	f = fmemopen((void *)buf, n, "rb");
	if (!f)
		return 0;
	pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fclose(f);
		return 0;
	}
	lt = pcap_datalink(pc);
	if (fq_replay_linktype_ok(lt)) {
		pcap_close(pc);
		return 0;
	}
	for (i = 0; i < MAX_RECORDS && pcap_next_ex(pc, &h, &data) == 1; i++) {
		enum fq_replay_skip why;
		long fl = fq_replay_frame(lt, data, h->caplen, h->len, frame, &why);

		if (fl < 0) {
			if (why != FQ_SKIP_EMPTY && why != FQ_SKIP_LINK)
				abort();
			continue;
		}
		if (why != FQ_SKIP_NONE || fl < 1 || fl > FQ_REPLAY_MAX_FRAME)
			abort();
		if (lt == DLT_EN10MB) {
			long cl = h->caplen < (uint32_t)fl ? (long)h->caplen : fl;

			if (memcmp(frame, data, cl))
				abort();
			for (long k = cl; k < fl; k++)
				if (frame[k])
					abort();
		} else if (fl < 14) {
			abort(); /* a synthesized Ethernet header at least */
		}
	}
	pcap_close(pc); /* closes f too */
	return 0;
}
