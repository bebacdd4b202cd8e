/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * shaper.h - the ABI shared by shaper.bpf.c and `flowqoe shape`.
 *
 * Two maps, both pinned under FQ_SH_PIN_ROOT/IFACE/ and BTF-typed so that
 * `bpftool map dump pinned ...` prints them as structs:
 *   fq_sh_cfg      ARRAY[2]: the limit of each direction (index = enum
 *                  fq_sh_dir).  Updating it changes the rate on the next
 *                  packet; programs are not reloaded, counters are kept.
 *   fq_sh_buckets  HASH: one token bucket + counters per key (the whole
 *                  interface, a peer address or a flow, per direction).
 *
 * The pin root is NOT under attach's /sys/fs/bpf/flowqoe/IFACE/: attach
 * refuses to start when that folder exists, and `flowqoe detach` calls
 * fq_shaper_teardown() to remove the shaper as well.
 */
#ifndef FQ_SHAPER_H
#define FQ_SHAPER_H

#ifdef __BPF__
/* vmlinux.h provides __u8 .. __u64 and struct bpf_spin_lock */
#else
#include <linux/types.h>
#include <linux/bpf.h>
#endif

#define FQ_SH_PIN_ROOT "/sys/fs/bpf/flowqoe-shaper"
#define FQ_SH_MAP_CFG "fq_sh_cfg"
#define FQ_SH_MAP_BUCKETS "fq_sh_buckets"

/* Keys beyond this share one overflow bucket per direction (counted). */
#define FQ_SH_MAX_BUCKETS 65536
/* htb: --per ip|flow keys are hashed into at most this many leaf classes. */
#define FQ_SH_MAX_CLASSES 256
/* htb leaf classes are MAJOR:(FQ_SH_CLASS_BASE + i), i < nclasses. */
#define FQ_SH_CLASS_BASE 0x100

enum fq_sh_dir {
	FQ_SH_EGRESS = 0,
	FQ_SH_INGRESS = 1,
	FQ_SH_NDIR = 2,
};

enum fq_sh_mode {
	FQ_SH_MODE_OFF = 0,    /* direction not shaped: programs pass */
	FQ_SH_MODE_EDT = 1,    /* skb->tstamp = departure time; fq releases it */
	FQ_SH_MODE_POLICE = 2, /* drop when the bucket is empty */
	FQ_SH_MODE_HTB = 3,    /* steer into htb leaf classes (skb->priority) */
};

enum fq_sh_per {
	FQ_SH_PER_IFACE = 0,
	FQ_SH_PER_IP = 1,   /* the peer: destination on egress, source on ingress */
	FQ_SH_PER_FLOW = 2, /* 5-tuple as seen in the packet */
};

/* Value of fq_sh_cfg[dir].  rate first so a bpftool update is readable. */
struct fq_sh_cfg {
	__u64 rate;        /* bytes per second (tc's "bps"); 0 = pass */
	__u64 burst;       /* bytes the bucket holds */
	__u64 horizon_ns;  /* edt/htb: a packet that would wait longer is dropped (edt) */
	__u32 mode;        /* enum fq_sh_mode */
	__u32 per;         /* enum fq_sh_per */
	__u32 ifb_ifindex; /* ingress edt/htb: packets are redirected to this ifb */
	__u32 nclasses;    /* htb: number of leaf classes keys hash into */
	__u32 htb_major;   /* htb: qdisc handle major; classid = major:(BASE + i) */
	__u32 pad;
};

/* Key of fq_sh_buckets.  Unused fields are zero: per iface the key is only
 * dir; per ip it is dir + family + addr; per flow everything. */
struct fq_sh_key {
	__u8 addr[16];  /* per ip: the peer; per flow: source (IPv4-mapped) */
	__u8 addr2[16]; /* per flow: destination */
	__u16 sport;    /* host byte order */
	__u16 dport;
	__u8 proto;
	__u8 dir;       /* enum fq_sh_dir */
	__u8 family;    /* 4, 6; 0 = not IP; FQ_SH_FAMILY_OVERFLOW = table full */
	__u8 pad;
};
#define FQ_SH_FAMILY_OVERFLOW 0xff

/*
 * A token bucket kept as a "theoretical arrival time" (GCRA): tat is the
 * time at which the bucket would be full again.  At time now it holds
 * burst - max(0, tat - now) * rate bytes.  One spin lock per bucket: the
 * two CPUs may send through the same bucket at once.
 */
struct fq_sh_bucket {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tat;         /* ns, CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	__u64 pkts_pass;   /* sent on (including delayed ones) */
	__u64 bytes_pass;
	__u64 pkts_delay;  /* edt: given a later departure; htb: above the rate on arrival */
	__u64 bytes_delay;
	__u64 pkts_drop;   /* police: bucket empty; edt: beyond the horizon */
	__u64 bytes_drop;
	__u64 last_ns;     /* last packet seen */
	__u64 drop_next;   /* edt: no drop before this time unless 4 horizons behind */
};

#ifndef __BPF__
#include <stdint.h>
/* user/cmd_shape.c: remove everything a shaper added on ifname (also
 * called by `flowqoe detach`); returns the number of objects removed. */
int fq_shaper_teardown(const char *ifname);
/* tc units: rate -> bytes/s, size -> bytes; 0, -EINVAL or -ERANGE */
int fq_sh_parse_rate(const char *s, uint64_t *bytes_per_s);
int fq_sh_parse_size(const char *s, uint64_t *bytes);
#endif

#endif /* FQ_SHAPER_H */
