// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Tier 1: fq_replay_frame, a capture record to the frame fq_xdp takes. */
#include "fq_pcap.h"
#include <stdint.h>
#include <string.h>
#include "testlib.h"
#include "replay.h"


static uint8_t out[FQ_REPLAY_MAX_FRAME];

/* 28-byte IPv4/UDP packet, and a 14-byte Ethernet header for it */
static const uint8_t ip4[28] = { 0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1,
				 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0, 0 };
static const uint8_t ip6_first = 0x60;

/* out = synthesized Ethernet header with et, then want (n bytes), then
 * zeros up to fl */
static void check_synth(const char *name, long fl, long want_fl, uint16_t et,
			const uint8_t *want, size_t n)
{
	if (!TL_CHECK(name, fl == want_fl, "frame length %ld, want %ld", fl, want_fl))
		return;
	if (!TL_CHECK(name, out[12] == et >> 8 && out[13] == (et & 0xff),
		      "EtherType %02x%02x, want %04x", out[12], out[13], et))
		return;
	if (!TL_CHECK(name, !memcmp(out + 14, want, n), "payload differs"))
		return;
	for (long k = 14 + n; k < fl; k++)
		if (!TL_CHECK(name, out[k] == 0, "byte %ld not zero", k))
			return;
	TL_OK(name);
}

int main(void)
{
	enum fq_replay_skip why;
	uint8_t rec[64];
	long fl;

	/* Ethernet: copied as is */
	memcpy(rec, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	memcpy(rec + 14, ip4, sizeof(ip4));
	fl = fq_replay_frame(DLT_EN10MB, rec, 42, 42, out, &why);
	if (TL_CHECK("pcapframe/ether", fl == 42 && why == FQ_SKIP_NONE && !memcmp(out, rec, 42),
		     "fl %ld why %d", fl, why))
		TL_OK("pcapframe/ether");

	/* snaplen-cut Ethernet: zeros up to the original length */
	memset(out, 0xAA, 200);
	fl = fq_replay_frame(DLT_EN10MB, rec, 42, 142, out, &why);
	{
		int z = 1;

		for (int k = 42; k < 142; k++)
			z &= out[k] == 0;
		if (TL_CHECK("pcapframe/snaplen", fl == 142 && z && !memcmp(out, rec, 42),
			     "fl %ld, zero-filled %d", fl, z))
			TL_OK("pcapframe/snaplen");
	}

	/* raw IPv4 and IPv6 (by version nibble) */
	fl = fq_replay_frame(DLT_RAW, ip4, sizeof(ip4), sizeof(ip4), out, &why);
	check_synth("pcapframe/raw4", fl, 42, 0x0800, ip4, sizeof(ip4));
	fl = fq_replay_frame(DLT_RAW, &ip6_first, 1, 1, out, &why);
	check_synth("pcapframe/raw6", fl, 15, 0x86DD, &ip6_first, 1);

	/* Linux cooked v1 (protocol at 14) and v2 (at 0) */
	memset(rec, 0, sizeof(rec));
	rec[14] = 0x08;
	memcpy(rec + 16, ip4, sizeof(ip4));
	fl = fq_replay_frame(DLT_LINUX_SLL, rec, 44, 44, out, &why);
	check_synth("pcapframe/sll", fl, 42, 0x0800, ip4, sizeof(ip4));
	memset(rec, 0, sizeof(rec));
	rec[0] = 0x86;
	rec[1] = 0xDD;
	rec[20] = ip6_first;
	fl = fq_replay_frame(DLT_LINUX_SLL2, rec, 21, 21, out, &why);
	check_synth("pcapframe/sll2", fl, 15, 0x86DD, &ip6_first, 1);

	/* BSD loopback, either byte order; unknown family skipped as link */
	memset(rec, 0, sizeof(rec));
	rec[0] = 2; /* AF_INET, little-endian */
	memcpy(rec + 4, ip4, sizeof(ip4));
	fl = fq_replay_frame(DLT_NULL, rec, 32, 32, out, &why);
	check_synth("pcapframe/null_le", fl, 42, 0x0800, ip4, sizeof(ip4));
	rec[0] = 0;
	rec[3] = 30; /* AF_INET6 on macOS, big-endian */
	fl = fq_replay_frame(DLT_NULL, rec, 32, 32, out, &why);
	check_synth("pcapframe/null_be6", fl, 42, 0x86DD, ip4, sizeof(ip4));
	rec[3] = 99;
	fl = fq_replay_frame(DLT_NULL, rec, 32, 32, out, &why);
	if (TL_CHECK("pcapframe/null_unknown", fl == -1 && why == FQ_SKIP_LINK, "fl %ld why %d", fl, why))
		TL_OK("pcapframe/null_unknown");

	/* empty record, header cut short, unknown link type */
	fl = fq_replay_frame(DLT_EN10MB, rec, 0, 0, out, &why);
	if (TL_CHECK("pcapframe/empty", fl == -1 && why == FQ_SKIP_EMPTY, "fl %ld why %d", fl, why))
		TL_OK("pcapframe/empty");
	fl = fq_replay_frame(DLT_LINUX_SLL, rec, 10, 60, out, &why);
	if (TL_CHECK("pcapframe/short_header", fl == -1 && why == FQ_SKIP_LINK, "fl %ld why %d", fl, why))
		TL_OK("pcapframe/short_header");
	fl = fq_replay_frame(147 /* DLT_USER0 */, rec, 32, 32, out, &why);
	if (TL_CHECK("pcapframe/unknown_link", fl == -1 && why == FQ_SKIP_LINK, "fl %ld why %d", fl, why))
		TL_OK("pcapframe/unknown_link");

	/* a corrupt original length near 4 GiB: capped, never wrapped
	 * (len - 4 + 14 used to wrap to an 8-byte frame) */
	memset(rec, 0, sizeof(rec));
	rec[0] = 2;
	memcpy(rec + 4, ip4, sizeof(ip4));
	fl = fq_replay_frame(DLT_NULL, rec, 32, 0xFFFFFFFEu, out, &why);
	check_synth("pcapframe/len_4g", fl, FQ_REPLAY_MAX_FRAME, 0x0800, ip4, sizeof(ip4));
	fl = fq_replay_frame(DLT_EN10MB, rec, 32, 0xFFFFFFFFu, out, &why);
	if (TL_CHECK("pcapframe/len_4g_ether", fl == FQ_REPLAY_MAX_FRAME, "fl %ld", fl))
		TL_OK("pcapframe/len_4g_ether");
	return tl_exit();
}
