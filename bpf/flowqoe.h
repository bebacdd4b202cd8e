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
	__u32 pad1;
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
	__u64 flow_full;        /* flow creations refused: table full */
	__u64 cas_fail;         /* min/max updates that lost a bounded CAS race */
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

#endif /* FLOWQOE_H */
