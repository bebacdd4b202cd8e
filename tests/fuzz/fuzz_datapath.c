// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the datapath itself (`make fuzz`): any byte string
 * is one frame for bpf/flowqoe.bpf.c, run through the native engine
 * (user/native.c: the same source compiled as userspace C) with windows
 * and the CICFlowMeter state on.  In the kernel the verifier proves every
 * packet access is bounds-checked; here ASan checks that those checks are
 * also right (the frame ends where its heap block does), UBSan that no
 * header is read misaligned, and the
 * frame must be counted exactly once, whatever it holds.
 */
#include <stdlib.h>
#include <string.h>
#include "native.h"

static void on_rec(void *ctx, void *data, size_t len)
{
	if (len != sizeof(struct fq_win_rec))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t n)
{
	static uint64_t runs, ts = 1000000000ULL;
	struct fqn_cfg cfg = { .max_flows = 1024, .win_ns = 33000000, .act_ns = 5000000000ULL,
			       .on_rec = on_rec };
	const struct fq_totals *t;
	struct fqn_event ev;
	uint64_t before;
	uint8_t *frame;
	__u32 zero = 0;

	/* a fresh datapath now and then, so that tables stay small */
	if (runs++ % 4096 == 0 && fqn_open(&cfg))
		abort();
	if (n == 0 || n > 65600 /* FQ_REPLAY_MAX_FRAME */)
		return 0;
	/* 2 bytes in, as replay places frames (the IP header 4-byte aligned
	 * after Ethernet); the block ends where the frame does */
	frame = malloc(n + 2);
	if (!frame)
		return 0;
	memcpy(frame + 2, buf, n);
	t = fqn_lookup(fqn_map_by_name("fq_totals"), &zero);
	if (!t)
		abort();
	before = t->packets[0] + t->packets[1];
	ts += 1000 + (n & 0xffff) * 997; /* moves on, by varying steps */
	fqn_run(frame + 2, n, ts, &ev);
	if (t->packets[0] + t->packets[1] != before + 1)
		abort();
	free(frame);
	return 0;
}
