/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers the C benchmarks share: a monotonic clock and the test frame. */
#ifndef FQ_BENCH_H
#define FQ_BENCH_H

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * An Ethernet/IPv4 frame of len bytes, 10.0.0.0:40000 -> 192.168.0.1:dport,
 * TTL 64: TCP with a 20-byte header and ACK set, or UDP with its length.
 * The benches rewrite the source address to make many flows.
 */
static inline void bench_frame(uint8_t *f, uint16_t len, uint8_t proto, uint16_t dport)
{
	uint16_t iplen = len - 14;

	memset(f, 0, len);
	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	f[14] = 0x45;
	f[16] = iplen >> 8;
	f[17] = iplen & 0xff;
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, "\x0a\x00\x00\x00\xc0\xa8\x00\x01", 8);
	f[34] = 40000 >> 8;
	f[35] = 40000 & 0xff;
	f[36] = dport >> 8;
	f[37] = dport & 0xff;
	if (proto == IPPROTO_TCP) {
		f[46] = 5 << 4; /* data offset */
		f[47] = 0x10;   /* ACK */
	} else {
		f[38] = (iplen - 20) >> 8; /* UDP length */
		f[39] = (iplen - 20) & 0xff;
	}
}

#endif
