/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flowqoe.h - the one ABI shared by the BPF programs and userspace.
 *
 * Plain fixed-width types, explicit padding, no kernel-only types, so that
 * the same struct layout is seen by clang -target bpf, by gcc for the daemon
 * and by bpftool through BTF.  Every map name is a macro here.
 */
#ifndef FLOWQOE_H
#define FLOWQOE_H

#ifdef __BPF__
/* vmlinux.h already provides __u8 .. __u64 */
#else
#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_spin_lock */
#endif

/* Load-time settings of the datapath (.rodata, set between open and load;
 * the verifier then prunes the branches they turn off).  The native engine
 * (user/native.c) compiles the same source as userspace C, where they are
 * plain globals set before the first packet. */
#ifndef FQ_RODATA
#define FQ_RODATA const volatile
#endif

#define FQ_PIN_ROOT "/sys/fs/bpf/flowqoe"

/* Map names (<= 15 chars, BPF_OBJ_NAME_LEN - 1). */
#define FQ_MAP_FLOWS "fq_flows"
#define FQ_MAP_TOTALS "fq_totals"
#define FQ_MAP_PROTO "fq_proto"
#define FQ_MAP_ETHER "fq_ether"
#define FQ_MAP_FRAGS "fq_frags"

/* Default size of the flow table; --max-flows overrides it. */
#define FQ_DEFAULT_MAX_FLOWS 65536

/*
 * log2 histograms.  Bin i counts values v with floor(log2(v)) == i (bin 0
 * also takes v == 0); the last bin takes everything larger.  Sizes are in
 * bytes (16 bins reach 32 KiB and up); IATs are in microseconds (24 bins
 * reach 2^23 us ~ 8.4 s and up).
 */
#define FQ_SIZE_BINS 16
#define FQ_IAT_BINS 24

enum fq_dir {
	FQ_DIR_LO_HI = 0, /* packet sent by key.addr_lo:port_lo */
	FQ_DIR_HI_LO = 1,
	FQ_DIR_MAX = 2,
};

/* Interface-level direction: where the program ran. */
enum fq_hook {
	FQ_HOOK_INGRESS = 0,
	FQ_HOOK_EGRESS = 1,
	FQ_HOOK_MAX = 2,
};

/* TCP flag counters, index into fq_dir_stats.flags[]. */
enum fq_tcp_flag {
	FQ_FIN = 0,
	FQ_SYN,
	FQ_RST,
	FQ_PSH,
	FQ_ACK,
	FQ_URG,
	FQ_ECE,
	FQ_CWR,
	FQ_NFLAGS,
};

/*
 * Bidirectional flow key.  Both directions of a 5-tuple map to the same
 * key: the (address, port) pair that compares lower is stored first.
 * IPv4 addresses are stored IPv4-mapped (::ffff:a.b.c.d) so one key type
 * serves both families.  Ports are in host byte order so that bpftool
 * prints readable numbers.  ICMP/ICMPv6 put type/code in port_lo/port_hi
 * (type << 8 | code in port_lo, echo identifier in port_hi) — see parse.h.
 */
struct fq_flow_key {
	__u8 addr_lo[16];
	__u8 addr_hi[16];
	__u16 port_lo;
	__u16 port_hi;
	__u8 proto;  /* IPPROTO_* */
	__u8 family; /* 4 or 6 */
	__u16 vlan;  /* outermost VLAN id, 0 if untagged */
};

/*
 * Per-direction statistics.  All counters are updated with atomic
 * instructions: ingress (XDP) and egress (tc) run on different CPUs for the
 * same flow, and a multi-queue NIC may run one direction on several CPUs.
 *
 * Sizes are IP-layer bytes (IPv4 total length, IPv6 payload length + 40),
 * as NetFlow/IPFIX octet counts are.  Times are in nanoseconds of the
 * program's clock (CLOCK_MONOTONIC live, capture time in replay).
 */
struct fq_dir_stats {
	__u64 packets;
	__u64 bytes;
	__u64 first_ns;
	__u64 last_ns;
	__u64 size_sq;     /* sum of size^2 (bytes^2) */
	__u64 payload;     /* sum of L4 payload bytes */
	__u64 hdr_bytes;   /* sum of IP + L4 header bytes */
	__u64 iat_sum;     /* ns */
	__u64 iat_sq;      /* sum of (iat in us)^2; us keeps this from overflowing */
	__u64 iat_min;     /* ns, ~0 until a second packet is seen */
	__u64 iat_max;     /* ns */
	__u32 size_min;    /* ~0 until a packet is seen */
	__u32 size_max;
	__u32 flags[FQ_NFLAGS];
	__u32 size_hist[FQ_SIZE_BINS];
	__u32 iat_hist[FQ_IAT_BINS];
};

struct fq_flow {
	struct fq_dir_stats dir[FQ_DIR_MAX];
	__u64 first_ns;     /* first packet of the flow, either direction */
	__u64 last_ns;      /* last packet of the flow, either direction */
	__u64 iat_sum;      /* flow IAT (both directions interleaved), ns */
	__u64 iat_sq;       /* sum of (iat in us)^2 */
	__u64 iat_min;      /* ns, ~0 until a second packet is seen */
	__u64 iat_max;      /* ns */
	__u8 initiator;     /* enum fq_dir of the first packet seen */
	__u8 rst_seen;      /* RST seen in any direction */
	__u16 pad0;
	__u32 fin_seen;     /* bit per direction: FIN seen (atomic or: 32-bit) */
	__u32 frags;        /* non-first fragments attributed to this flow */
	struct bpf_spin_lock lock; /* held by the datapath while it updates the flow */
};

/*
 * Fragment tracking: the first fragment of a datagram records the ports of
 * its flow under (addresses, protocol, IP identification) so that later
 * fragments, which carry no L4 header, are attributed to the same flow.
 */
struct fq_frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id;
	__u8 proto;
	__u8 pad[3];
};

struct fq_frag_val {
	__u16 sport;
	__u16 dport;
	__u32 pad;
};

/* Per-CPU interface totals, one entry (key 0) in FQ_MAP_TOTALS. */
struct fq_totals {
	__u64 packets[FQ_HOOK_MAX];
	__u64 bytes[FQ_HOOK_MAX];     /* frame bytes as seen by the hook */
	__u64 ip_bytes[FQ_HOOK_MAX];  /* IP-layer bytes of IP packets */
	__u64 ipv4;
	__u64 ipv6;
	__u64 non_ip;           /* counted by EtherType in FQ_MAP_ETHER */
	__u64 parse_errors;     /* truncated or malformed headers */
	__u64 frag_first;       /* first fragments (ports parsed) */
	__u64 frag_later;       /* later fragments attributed to their flow */
	__u64 frag_orphan;      /* later fragments whose first fragment was not seen */
	__u64 untracked;        /* packets of flows the full table could not take */
	__u64 new_flows;
	__u64 flow_full;        /* flows refused, each once: table full (fq_refused) */
};

/* Per-CPU per-IP-protocol counters, FQ_MAP_PROTO is an array of 256. */
struct fq_proto_ctr {
	__u64 packets[FQ_HOOK_MAX];
	__u64 bytes[FQ_HOOK_MAX]; /* IP-layer bytes */
};

/* Per-CPU per-EtherType counters for non-IP frames (FQ_MAP_ETHER, hash). */
struct fq_ether_ctr {
	__u64 packets[FQ_HOOK_MAX];
	__u64 bytes[FQ_HOOK_MAX]; /* frame bytes */
};

/*
 * Per-conversation windows (cloud-gaming style reports).  A conversation is
 * an IP pair, both directions.  Windows are aligned to multiples of the
 * window length on the program's clock, so every conversation's windows
 * line up.  The BPF program accumulates integer sums per direction and, when
 * a packet falls past the current window, hands the closed window to
 * userspace through the ring buffer FQ_MAP_WINRB; userspace ends the last
 * window of a conversation that fell silent (see user/window.c).
 *
 * IAT rule: a packet's IAT is the time since the previous packet of the same
 * direction of the same conversation, counted only when that packet lies in
 * the same window; a direction with fewer than two packets in a window has
 * no IAT samples and reports mean and std 0, as does an empty direction.
 */
#define FQ_MAP_CONV "fq_conv"
#define FQ_MAP_WINRB "fq_winrb"

struct fq_conv_key {
	__u8 addr_lo[16];
	__u8 addr_hi[16];
	__u8 family;
	__u8 pad[3];
};

struct fq_win_dir {
	__u32 packets;
	__u32 iat_n;       /* IAT samples (packets - 1 when >= 1 packet) */
	__u64 bytes;       /* IP-layer bytes */
	__u64 bytes_sq;
	__u64 iat_sum;     /* ns */
	__u64 iat_sq;      /* (iat in us)^2 */
	__u64 last_ns;     /* last packet of this direction in the window */
};

struct fq_win_rec {
	struct fq_conv_key key;
	__u64 start_ns;    /* window start (program clock) */
	__u64 len_ns;      /* window length */
	__u8 initiator;    /* direction of the conversation's first packet */
	__u8 pad[7];
	struct fq_win_dir dir[FQ_DIR_MAX];
};

/* Value of FQ_MAP_CONV: the open window, under a spin lock because the
 * ingress and egress hooks update one conversation from two CPUs and a
 * window must be closed and reset as one step.  Userspace reads it with
 * BPF_F_LOCK. */
struct fq_conv {
	struct bpf_spin_lock lock;
	__u32 pad;
	struct fq_win_rec w;
};

/*
 * CICFlowMeter features (flowqoe replay --csv, attach --csv): what the
 * CIC-IDS feature set needs beyond struct fq_flow, kept per flow in
 * FQ_MAP_CIC (same key as FQ_MAP_FLOWS) and only when the rodata knob
 * cfg_cic is set.  Definitions: docs/features.md.  Times in ns of the
 * program's clock; squares of times in us^2 (as fq_flow) so they do not
 * overflow.  "Payload" is IP length minus IP and L4 headers.
 */
#define FQ_MAP_CIC "fq_cic"

/* Bulk: a run of >= 4 data packets of one direction with no gap > 1 s and
 * no data packet of the other direction in between (CICFlowMeter's). */
struct fq_cic_bulk {
	__u64 start;       /* start of the candidate bulk, 0: none */
	__u64 last;        /* last data packet of the candidate bulk */
	__u64 size_helper; /* payload bytes of the candidate */
	__u64 bytes;       /* totals over completed bulks */
	__u64 pkts;
	__u64 dur;         /* ns */
	__u32 cnt_helper;  /* packets of the candidate */
	__u32 states;      /* number of bulks */
};

/* n / sum / sum of squares / min / max of a series of durations */
struct fq_cic_series {
	__u64 n;
	__u64 sum;  /* ns */
	__u64 sq;   /* (us)^2 */
	__u64 min;  /* ns, ~0 when n == 0 */
	__u64 max;
};

struct fq_cic_dir {
	__u64 pl_sum;      /* payload bytes */
	__u64 pl_sq;       /* payload^2 */
	__u64 l4hdr_sum;   /* L4 header bytes */
	__u64 pad_bytes;   /* Ethernet padding after the IP packet */
	__u32 pl_min;      /* ~0 until a packet */
	__u32 pl_max;
	__u32 data_pkts;   /* packets with payload >= 1 */
	__u32 l4hdr_min;   /* ~0 until a packet */
	__u16 init_win;    /* TCP window of the first packet of the direction */
	__u16 last_win;    /* TCP window of the latest packet */
	__u32 pkts;        /* packets of this direction */
	struct fq_cic_bulk bulk; /* this direction's bulks */
};

struct fq_cic {
	struct bpf_spin_lock lock;
	__u32 pkts;             /* packets seen by the CIC update */
	struct fq_cic_dir dir[FQ_DIR_MAX];
	struct fq_cic_bulk bulk_all; /* CICFlowMeter's bulk: all packets as one stream */
	struct fq_cic_series active;
	struct fq_cic_series idle;
	__u64 start_active;     /* current active period */
	__u64 end_active;
	__u64 sf_last;          /* last packet (subflow detection) */
	__u32 sf_gaps;          /* gaps > 1 s between packets: subflows - 1 */
	__u32 first_payload;    /* payload of the flow's first packet */
	__u8 first_dir;         /* direction of the first packet */
	__u8 closed;            /* FIN both ways or RST seen (event sent) */
	__u8 pad[6];
};

/* Replay only (cfg_replay_clock): what the last BPF_PROG_RUN did to the
 * CIC state, read by user/replay.c from the mmaped .bss. */
enum fq_cic_event {
	FQ_CIC_EV_SEEN = 1,   /* the packet reached a flow */
	FQ_CIC_EV_NEW = 2,    /* ... and created it */
	FQ_CIC_EV_FIN = 4,    /* TCP FIN in this packet */
	FQ_CIC_EV_CLOSE = 8,  /* this packet made the flow closed (FIN both ways, or RST) */
};

#endif /* FLOWQOE_H */
