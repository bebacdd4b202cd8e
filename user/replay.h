/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * replay - pcap/pcapng files through the datapath's XDP program with
 * BPF_PROG_RUN, the capture time as the program's clock, flows ended by
 * capture time.  One callback per ended flow with its fq_flow and fq_cic.
 */
#ifndef FQ_REPLAY_H
#define FQ_REPLAY_H

#include <stdbool.h>
#include <stdint.h>
#include "flowqoe.h"
#include "flowtab.h"

struct fq_replay_opts {
	uint64_t flow_timeout_ns; /* CIC's active timeout: flow older than this ends (120 s) */
	uint64_t act_timeout_ns;  /* activity timeout for active/idle periods (5 s) */
	uint64_t fin_linger_ns;   /* default mode: flow ends this long after FIN both ways/RST */
	bool cic_compat;          /* end a TCP flow at its first FIN, as CICFlowMeter */
	unsigned int max_flows;   /* flow table size (0: 256k, allocated as used) */
	bool native;              /* the native engine (user/native.c), not BPF_PROG_RUN */
	/* called once per ended flow, in the order flows end */
	void (*on_flow)(void *ctx, const struct fq_flow_rec *r, const struct fq_cic *c,
			enum fq_end_reason why);
	void *ctx;
	/*
	 * Window records (replay --windows/--model): cfg_win_ns = win_ns.  The
	 * ring buffer is drained every FQ_REPLAY_WIN_DRAIN packets (far below
	 * its 4 MiB), a loss is counted in win_lost.  A conversation stays in
	 * the datapath's table for the whole capture (its initiator is the
	 * sender of its first packet); at the end of the file every open
	 * window is ended (sorted by start, then key).  on_win gets records in
	 * the order they close; on_tick(now) runs every tick_ns of capture
	 * time, after every record closed before `now` went to on_win.
	 */
	uint64_t win_ns;
	void (*on_win)(void *ctx, const struct fq_win_rec *r);
	void (*on_tick)(void *ctx, uint64_t now);
	uint64_t tick_ns;
	void *win_ctx;
};

#define FQ_REPLAY_WIN_DRAIN 256

struct fq_replay_stats {
	uint64_t packets;        /* records read */
	uint64_t bytes;          /* original lengths */
	uint64_t run;            /* packets given to the program */
	uint64_t snap_padded;    /* caplen < len: zero-filled to len */
	uint64_t skip_empty;     /* zero-length records */
	uint64_t skip_big;       /* longer than BPF_PROG_RUN takes */
	uint64_t skip_link;      /* link-layer header missing or unknown family */
	uint64_t ts_backwards;   /* timestamp earlier than the previous one */
	uint64_t flows;          /* flows emitted */
	uint64_t parse_errors;   /* the datapath's parse_errors counter */
	uint64_t untracked;      /* the datapath could not track (table full) */
	uint64_t win_records;    /* window records passed to on_win */
	uint64_t win_lost;       /* window records lost: ring buffer full */
	uint64_t win_conv_full;  /* packets of conversations the table could not take */
	double run_s;            /* wall time of the packet loop */
	uint64_t prog_ns;        /* time in the BPF program, as the kernel reports (0 native) */
};

/* Link types replay takes (user/pcapframe.c): 0, or -1 for any other. */
int fq_replay_linktype_ok(int linktype);

/*
 * Turn one capture record into an Ethernet frame for the XDP program:
 * strips the link header of non-Ethernet link types and writes a
 * synthesized Ethernet header, zero-fills a snaplen-cut packet up to its
 * original length.  out must hold FQ_REPLAY_MAX_FRAME bytes.  Returns the
 * frame length, or -1 (no usable frame: *why says which counter).
 */
#define FQ_REPLAY_MAX_FRAME 65600
enum fq_replay_skip { FQ_SKIP_NONE = 0, FQ_SKIP_EMPTY, FQ_SKIP_LINK };
long fq_replay_frame(int linktype, const uint8_t *data, uint32_t caplen, uint32_t len,
		     uint8_t *out, enum fq_replay_skip *why);

/* Replay a file.  Returns 0, or -1 after printing an error naming the
 * file (and the packet index where reading stopped). */
int fq_replay_file(const char *path, const struct fq_replay_opts *o,
		   struct fq_replay_stats *st);

#endif
