// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pcapframe.c - one capture record to the Ethernet frame the XDP program
 * takes (replay and query --pcap).  Plain C with no libbpf, so the fuzz
 * target (tests/fuzz/fuzz_pcap.c) builds it instrumented on its own.
 */
#include "fq_pcap.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "replay.h"

int fq_replay_linktype_ok(int lt)
{
	switch (lt) {
	case DLT_EN10MB:
	case DLT_RAW:
	case 14:  /* DLT_RAW on OpenBSD */
	case 101: /* LINKTYPE_RAW, when libpcap does not map it */
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_NULL:
	case DLT_LOOP:
		return 0;
	}
	return -1;
}

static uint16_t et_from_version(const uint8_t *ip, uint32_t n)
{
	if (n < 1)
		return 0;
	switch (ip[0] >> 4) {
	case 4: return 0x0800;
	case 6: return 0x86DD;
	}
	return 0;
}

/* BSD loopback family: AF_INET is 2 everywhere, AF_INET6 differs by OS */
static uint16_t et_from_family(uint32_t fam)
{
	if (fam == 2)
		return 0x0800;
	if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
		return 0x86DD;
	return 0;
}

long fq_replay_frame(int lt, const uint8_t *data, uint32_t caplen, uint32_t len,
		     uint8_t *out, enum fq_replay_skip *why)
{
	/* 64-bit: a record's 32-bit original length plus our header must not
	 * wrap (a corrupt len of ~4 GiB made an 8-byte frame; found by fuzz_pcap) */
	uint64_t fl, cl;
	uint32_t hdr = 0;
	uint16_t et = 0;
	bool synth = true;

	*why = FQ_SKIP_NONE;
	if (len == 0 || caplen == 0) {
		*why = FQ_SKIP_EMPTY;
		return -1;
	}
	if (caplen > len) /* libpcap allows it for some writers: trust caplen */
		len = caplen;
	switch (lt) {
	case DLT_EN10MB:
		synth = false;
		break;
	case DLT_RAW:
	case 14:
	case 101:
	case DLT_IPV4:
	case DLT_IPV6:
		et = et_from_version(data, caplen);
		break;
	case DLT_LINUX_SLL:
		hdr = 16;
		if (caplen >= hdr)
			et = (uint16_t)data[14] << 8 | data[15];
		break;
	case DLT_LINUX_SLL2:
		hdr = 20;
		if (caplen >= hdr)
			et = (uint16_t)data[0] << 8 | data[1];
		break;
	case DLT_NULL:
		hdr = 4;
		if (caplen >= hdr) {
			uint32_t le = data[0] | data[1] << 8 | data[2] << 16 | (uint32_t)data[3] << 24;
			uint32_t be = (uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3];

			/* written in the capturing host's byte order */
			et = et_from_family(le);
			if (!et)
				et = et_from_family(be);
		}
		break;
	case DLT_LOOP:
		hdr = 4;
		if (caplen >= hdr)
			et = et_from_family((uint32_t)data[0] << 24 | data[1] << 16 | data[2] << 8 | data[3]);
		break;
	default:
		*why = FQ_SKIP_LINK;
		return -1;
	}
	if (synth && (caplen < hdr || et == 0)) {
		*why = FQ_SKIP_LINK;
		return -1;
	}
	if (!synth) {
		fl = len;
		cl = caplen;
		if (fl > FQ_REPLAY_MAX_FRAME)
			fl = FQ_REPLAY_MAX_FRAME;
		if (cl > fl)
			cl = fl;
		memcpy(out, data, cl);
	} else {
		static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };

		fl = (uint64_t)len - hdr + 14;
		cl = caplen - hdr;
		if (fl > FQ_REPLAY_MAX_FRAME)
			fl = FQ_REPLAY_MAX_FRAME;
		if (cl > fl - 14)
			cl = fl - 14;
		memcpy(out, macs, 12);
		out[12] = et >> 8;
		out[13] = et & 0xff;
		memcpy(out + 14, data + hdr, cl);
		cl += 14;
	}
	/* snaplen-cut: the headers are there, the payload bytes are not;
	 * zeros keep every length field consistent with the frame */
	if (cl < fl)
		memset(out + cl, 0, fl - cl);
	return fl;
}
