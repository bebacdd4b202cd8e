// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shaper.bpf.c - token-bucket bandwidth limits kept in BPF maps.
 *
 * Three tc programs (attached through tcx links, or clsact filters on
 * kernels without tcx), all reading the limit of their direction from
 * fq_sh_cfg on every packet, so a map update changes the rate on the next
 * packet:
 *   fq_sh_egress   IFACE egress: shape egress.
 *   fq_sh_ingress  IFACE ingress: police ingress, or redirect it to an ifb
 *                  device whose egress is shaped (edt, htb).
 *   fq_sh_ifb      ifb egress: shape what fq_sh_ingress redirected.
 * A passing packet returns TC_ACT_UNSPEC (= TCX_NEXT) so that later
 * programs, such as `flowqoe attach`'s, still see it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.h"
#include "shaper.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define NSEC_PER_SEC 1000000000ULL
/* Enough linear data for Ethernet + 2 VLAN tags + IPv6 + a few extension
 * headers + the ports, which is all the key needs. */
#define SH_PULL_LEN 128

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FQ_SH_NDIR);
	__type(key, __u32);
	__type(value, struct fq_sh_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fq_sh_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FQ_SH_MAX_BUCKETS);
	__type(key, struct fq_sh_key);
	__type(value, struct fq_sh_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} fq_sh_buckets SEC(".maps");

/* Fill the bucket key of this packet.  Non-IP frames (ARP...) share the
 * key with family 0, so they are limited too. */
static __always_inline void sh_key(struct __sk_buff *skb, const struct fq_sh_cfg *cfg,
				   __u32 dir, struct fq_sh_key *k)
{
	struct fq_pkt p = {};
	void *data, *data_end;

	__builtin_memset(k, 0, sizeof(*k));
	k->dir = dir;
	if (cfg->per == FQ_SH_PER_IFACE)
		return;
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	if (data_end - data < SH_PULL_LEN && skb->len > data_end - data) {
		bpf_skb_pull_data(skb, skb->len < SH_PULL_LEN ? skb->len : SH_PULL_LEN);
		data = (void *)(long)skb->data;
		data_end = (void *)(long)skb->data_end;
	}
	fq_parse(data, data_end, skb->len, &p);
	if (p.family != 4 && p.family != 6)
		return;
	k->family = p.family;
	if (cfg->per == FQ_SH_PER_IP) {
		/* the peer: whom we send to, or who sends to us */
		__builtin_memcpy(k->addr, dir == FQ_SH_EGRESS ? p.dst : p.src, 16);
		return;
	}
	__builtin_memcpy(k->addr, p.src, 16);
	__builtin_memcpy(k->addr2, p.dst, 16);
	k->sport = p.sport;
	k->dport = p.dport;
	k->proto = p.proto;
}

static __always_inline struct fq_sh_bucket *sh_bucket(struct fq_sh_key *k)
{
	struct fq_sh_bucket zero = {}, *b;

	b = bpf_map_lookup_elem(&fq_sh_buckets, k);
	if (b)
		return b;
	bpf_map_update_elem(&fq_sh_buckets, k, &zero, BPF_NOEXIST);
	b = bpf_map_lookup_elem(&fq_sh_buckets, k);
	if (b)
		return b;
	/* table full: one shared bucket per direction, still limited */
	__u8 dir = k->dir;

	__builtin_memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->family = FQ_SH_FAMILY_OVERFLOW;
	bpf_map_update_elem(&fq_sh_buckets, k, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&fq_sh_buckets, k);
}

/* htb leaf class of a key: a cheap multiplicative hash over the key words,
 * so that one peer or flow always lands in the same class. */
static __always_inline __u32 sh_class(const struct fq_sh_key *k, __u32 n)
{
	const __u32 *w = (const void *)k;
	__u32 h = 0x9e3779b9;

#pragma unroll
	for (int i = 0; i < sizeof(*k) / 4; i++) {
		h ^= w[i];
		h *= 0x01000193;
		h ^= h >> 15;
	}
	return n > 1 ? h % n : 0;
}

enum { SH_PASS, SH_DELAY, SH_DROP };

static __always_inline int sh_shape(struct __sk_buff *skb, __u32 dir, const struct fq_sh_cfg *cfg)
{
	struct fq_sh_key k;
	struct fq_sh_bucket *b;
	__u64 rate = cfg->rate, len, d, burst_ns, now, t, dep;
	__u32 mode = cfg->mode, nclasses = cfg->nclasses;
	int verdict = SH_PASS;

	sh_key(skb, cfg, dir, &k);
	b = sh_bucket(&k);
	if (!b)
		return TC_ACT_UNSPEC;
	/*
	 * Bytes as the qdiscs count them (tbf, htb): wire_len includes the
	 * headers of every GSO segment on egress; on ingress it lacks the
	 * Ethernet header the program sees in skb->len.
	 */
	len = skb->len;
	if (skb->wire_len > len)
		len = skb->wire_len;
	d = len * NSEC_PER_SEC / rate;
	burst_ns = cfg->burst * NSEC_PER_SEC / rate;
	now = bpf_ktime_get_ns();

	bpf_spin_lock(&b->lock);
	t = b->tat > now ? b->tat : now;
	/* earliest time the bucket holds len bytes */
	dep = t + d > now + burst_ns ? t + d - burst_ns : now;
	if (mode == FQ_SH_MODE_POLICE) {
		/* a packet bigger than the bucket (GSO) passes when it is full,
		 * leaving a debt, so the average rate still holds */
		if (dep > now && b->tat > now)
			verdict = SH_DROP;
		else
			b->tat = t + d;
	} else if (dep - now > cfg->horizon_ns && mode == FQ_SH_MODE_EDT &&
		   (now >= b->drop_next || dep - now > 4 * cfg->horizon_ns)) {
		/* edt, the queue past the horizon: one drop, then none for two
		 * horizons, about a round trip through a queue that long (TCP
		 * answers one loss per round trip; every packet dropped until
		 * it does would be one more retransmit, and an ingress GSO
		 * packet is several segments); past four horizons, every
		 * packet (a flow that does not back off) */
		verdict = SH_DROP;
		b->drop_next = now + 2 * cfg->horizon_ns;
	} else if (dep - now > cfg->horizon_ns && mode != FQ_SH_MODE_EDT) {
		/* htb: its queue will drop, do not let the model run away */
		verdict = SH_DELAY;
	} else {
		b->tat = t + d;
		if (dep > now)
			verdict = SH_DELAY;
	}
	if (verdict == SH_DROP) {
		b->pkts_drop++;
		b->bytes_drop += len;
	} else {
		b->pkts_pass++;
		b->bytes_pass += len;
		if (verdict == SH_DELAY) {
			b->pkts_delay++;
			b->bytes_delay += len;
		}
	}
	b->last_ns = now;
	bpf_spin_unlock(&b->lock);

	if (verdict == SH_DROP)
		return TC_ACT_SHOT;
	if (mode == FQ_SH_MODE_EDT && dep > now && dep > skb->tstamp)
		skb->tstamp = dep; /* TCP's own pacing time stays if later */
	else if (mode == FQ_SH_MODE_HTB)
		skb->priority = (cfg->htb_major << 16) | (FQ_SH_CLASS_BASE + sh_class(&k, nclasses));
	return TC_ACT_UNSPEC;
}

static __always_inline const struct fq_sh_cfg *sh_cfg(__u32 dir)
{
	const struct fq_sh_cfg *cfg = bpf_map_lookup_elem(&fq_sh_cfg, &dir);

	if (!cfg || !cfg->rate || cfg->mode == FQ_SH_MODE_OFF)
		return NULL;
	return cfg;
}

SEC("tc")
int fq_sh_egress(struct __sk_buff *skb)
{
	const struct fq_sh_cfg *cfg = sh_cfg(FQ_SH_EGRESS);

	return cfg ? sh_shape(skb, FQ_SH_EGRESS, cfg) : TC_ACT_UNSPEC;
}

SEC("tc")
int fq_sh_ingress(struct __sk_buff *skb)
{
	const struct fq_sh_cfg *cfg = sh_cfg(FQ_SH_INGRESS);

	if (!cfg)
		return TC_ACT_UNSPEC;
	if (cfg->mode == FQ_SH_MODE_POLICE)
		return sh_shape(skb, FQ_SH_INGRESS, cfg);
	if (!cfg->ifb_ifindex)
		return TC_ACT_UNSPEC;
	return bpf_redirect(cfg->ifb_ifindex, 0);
}

SEC("tc")
int fq_sh_ifb(struct __sk_buff *skb)
{
	const struct fq_sh_cfg *cfg = sh_cfg(FQ_SH_INGRESS);

	return cfg ? sh_shape(skb, FQ_SH_INGRESS, cfg) : TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
