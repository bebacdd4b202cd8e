/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - BPF-only packet parsing shared by the XDP and tc programs.
 *
 * One cursor walks the headers; every access is bounds-checked against
 * data_end.  The result is a struct fq_pkt that the accounting code uses,
 * whichever hook the packet came from.
 */
#ifndef FQ_PARSE_H
#define FQ_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "flowqoe.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_NONE_ 59
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135

/* 802.1Q inside 802.1ad (QinQ) is the deepest stacking we parse. */
#define FQ_MAX_VLAN 2
/*
 * IPv6 extension headers walked before giving up.  RFC 8200 recommends
 * at most one of each (hop-by-hop, destination x2, routing, fragment, AH);
 * 6 covers that order and keeps the unrolled loop small for the verifier.
 */
#define FQ_MAX_V6_EXT 6

enum fq_parse_res {
	FQ_PARSE_OK = 0,      /* L3 and L4 parsed: flow key valid */
	FQ_PARSE_L3_ONLY,     /* L3 parsed, no ports (later fragment, unknown L4) */
	FQ_PARSE_NON_IP,      /* not IPv4/IPv6: counted by EtherType */
	FQ_PARSE_ERR_L2,      /* truncated Ethernet/VLAN */
	FQ_PARSE_ERR_L3,      /* truncated or bogus IP header */
	FQ_PARSE_ERR_L4,      /* IP fine, L4 header truncated or bogus */
};

struct fq_pkt {
	/* addresses as seen in the packet, IPv4-mapped for IPv4 */
	__u8 src[16];
	__u8 dst[16];
	__u16 sport;
	__u16 dport;
	__u16 ethertype;
	__u16 vlan;
	__u8 proto;
	__u8 family;
	__u8 tcp_flags;
	__u8 frag;           /* 0 none, 1 first fragment, 2 later fragment */
	__u32 frag_id;
	__u32 ip_len;        /* IP-layer bytes */
	__u32 hdr_len;       /* IP header(s) + L4 header */
	/* appended for the CICFlowMeter features (bpf/cic_kern.h) */
	__u32 frame_len;     /* frame bytes (wire length) */
	__u16 l2_len;        /* Ethernet + VLAN header bytes */
	__u16 l4_hdr;        /* L4 header bytes (TCP doff, UDP/ICMP 8), 0 if none */
	__u16 tcp_win;       /* TCP window field (unscaled), 0 if not TCP */
	__u16 pad_cic;
};

struct fq_cursor {
	void *pos;
	void *end;
};

static __always_inline void fq_v4_mapped(__u8 *dst, __be32 a)
{
	__u32 *w = (__u32 *)dst;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = a;
}

/* 16 bytes, src possibly in the packet at any alignment (an IPv6 address
 * after a VLAN tag is only 4-byte aligned).  BPF: two 8-byte loads, which
 * the verifier allows unaligned on packet data where the CPU does; as C
 * (the native engine) that is undefined, so memcpy. */
static __always_inline void fq_copy16(__u8 *dst, const void *src)
{
#ifdef __BPF__
	const __u64 *s = src;
	__u64 *d = (__u64 *)dst;

	d[0] = s[0];
	d[1] = s[1];
#else
	__builtin_memcpy(dst, src, 16);
#endif
}

/* L4 ports and flags; c->pos is at the L4 header, l4_room = ip_len left. */
static __always_inline int fq_parse_l4(struct fq_cursor *c, struct fq_pkt *p,
				       __u32 l4_room)
{
	switch (p->proto) {
	case IPPROTO_TCP_: {
		struct tcphdr *th = c->pos;
		__u32 doff;

		if ((void *)(th + 1) > c->end)
			return FQ_PARSE_ERR_L4;
		doff = th->doff * 4;
		if (doff < sizeof(*th) || doff > l4_room)
			return FQ_PARSE_ERR_L4;
		p->sport = bpf_ntohs(th->source);
		p->dport = bpf_ntohs(th->dest);
		p->tcp_flags = ((__u8 *)th)[13];
		p->tcp_win = bpf_ntohs(th->window);
		p->l4_hdr = doff;
		p->hdr_len += doff;
		return FQ_PARSE_OK;
	}
	case IPPROTO_UDP_: {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) > c->end || l4_room < sizeof(*uh))
			return FQ_PARSE_ERR_L4;
		p->sport = bpf_ntohs(uh->source);
		p->dport = bpf_ntohs(uh->dest);
		p->l4_hdr = sizeof(*uh);
		p->hdr_len += sizeof(*uh);
		return FQ_PARSE_OK;
	}
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_: {
		/* type, code, checksum, then the echo identifier */
		__u8 *ih = c->pos;

		if ((void *)(ih + 8) > c->end || l4_room < 8)
			return FQ_PARSE_ERR_L4;
		p->sport = (__u16)ih[0] << 8 | ih[1];
		p->dport = 0;
		/* echo request/reply (v4: 8/0, v6: 128/129): both directions
		 * share the identifier, so key on it, not on type/code */
		if (ih[0] == 8 || ih[0] == 0 || ih[0] == 128 || ih[0] == 129) {
			p->sport = (__u16)ih[4] << 8 | ih[5];
			p->dport = p->sport;
		}
		p->l4_hdr = 8;
		p->hdr_len += 8;
		return FQ_PARSE_OK;
	}
	default:
		return FQ_PARSE_L3_ONLY;
	}
}

/* room: bytes of the frame from the IP header on (wire length, which on tc
 * may exceed the linear data c->end bounds) */
static __always_inline int fq_parse_ipv4(struct fq_cursor *c, struct fq_pkt *p,
					 __u32 room)
{
	struct iphdr *iph = c->pos;
	__u32 ihl, tot, frag_off;

	if ((void *)(iph + 1) > c->end)
		return FQ_PARSE_ERR_L3;
	if (iph->version != 4)
		return FQ_PARSE_ERR_L3;
	ihl = iph->ihl * 4;
	if (ihl < sizeof(*iph))
		return FQ_PARSE_ERR_L3;
	if (c->pos + ihl > c->end)
		return FQ_PARSE_ERR_L3;
	tot = bpf_ntohs(iph->tot_len);
	if (tot == 0) /* TSO/BIG TCP: length is the buffer's */
		tot = room;
	/* a length past the end of the frame is a truncated packet: the
	 * stack would drop it, and counting tot_len would invent bytes */
	if (tot < ihl || tot > room)
		return FQ_PARSE_ERR_L3;

	p->family = 4;
	p->proto = iph->protocol;
	p->ip_len = tot;
	p->hdr_len = ihl;
	fq_v4_mapped(p->src, iph->saddr);
	fq_v4_mapped(p->dst, iph->daddr);

	frag_off = bpf_ntohs(iph->frag_off);
	if (frag_off & 0x1fff) {
		p->frag = 2;
		p->frag_id = bpf_ntohs(iph->id);
		return FQ_PARSE_L3_ONLY;
	}
	if (frag_off & 0x2000) {
		p->frag = 1;
		p->frag_id = bpf_ntohs(iph->id);
	}
	c->pos += ihl;
	return fq_parse_l4(c, p, tot - ihl);
}

static __always_inline int fq_parse_ipv6(struct fq_cursor *c, struct fq_pkt *p,
					 __u32 room)
{
	struct ipv6hdr *ip6 = c->pos;
	__u32 plen, used = 0;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return FQ_PARSE_ERR_L3;
	if (ip6->version != 6)
		return FQ_PARSE_ERR_L3;
	if (room < sizeof(*ip6))
		return FQ_PARSE_ERR_L3;
	plen = bpf_ntohs(ip6->payload_len);
	if (plen == 0) /* jumbogram / BIG TCP: length is the buffer's */
		plen = room - sizeof(*ip6);
	if (plen > room - sizeof(*ip6)) /* truncated, as for IPv4 */
		return FQ_PARSE_ERR_L3;

	p->family = 6;
	p->ip_len = plen + sizeof(*ip6);
	p->hdr_len = sizeof(*ip6);
	fq_copy16(p->src, &ip6->saddr);
	fq_copy16(p->dst, &ip6->daddr);
	nh = ip6->nexthdr;
	c->pos += sizeof(*ip6);

	for (i = 0; i < FQ_MAX_V6_EXT; i++) {
		__u8 *eh = c->pos;
		__u32 len;

		switch (nh) {
		case IPPROTO_HOPOPTS_:
		case IPPROTO_ROUTING_:
		case IPPROTO_DSTOPTS_:
		case IPPROTO_MH_:
			if ((void *)(eh + 8) > c->end)
				return FQ_PARSE_ERR_L3;
			len = ((__u32)eh[1] + 1) * 8;
			break;
		case IPPROTO_AH_:
			if ((void *)(eh + 8) > c->end)
				return FQ_PARSE_ERR_L3;
			len = ((__u32)eh[1] + 2) * 4;
			break;
		case IPPROTO_FRAGMENT_: {
			__u16 off;

			if ((void *)(eh + 8) > c->end)
				return FQ_PARSE_ERR_L3;
			len = 8;
			off = ((__u16)eh[2] << 8 | eh[3]);
			p->frag_id = (__u32)eh[4] << 24 | (__u32)eh[5] << 16 |
				     (__u32)eh[6] << 8 | eh[7];
			if (off & 0xfff8) {
				p->frag = 2;
				p->proto = eh[0];
				p->hdr_len += len;
				return FQ_PARSE_L3_ONLY;
			}
			if (off & 1)
				p->frag = 1;
			break;
		}
		default:
			goto l4;
		}
		used += len;
		if (used > plen)
			return FQ_PARSE_ERR_L3;
		nh = eh[0];
		p->hdr_len += len;
		c->pos += len;
	}
	/* FQ_MAX_V6_EXT headers walked: if the next one is not an
	 * extension header either, the chain ended exactly at the limit and
	 * its L4 header is parsed like any other */
	switch (nh) {
	case IPPROTO_HOPOPTS_:
	case IPPROTO_ROUTING_:
	case IPPROTO_DSTOPTS_:
	case IPPROTO_MH_:
	case IPPROTO_AH_:
	case IPPROTO_FRAGMENT_:
		/* chain longer than we walk: count the packet at L3, no ports */
		p->proto = nh;
		return FQ_PARSE_L3_ONLY;
	default:
		break;
	}
l4:
	p->proto = nh;
	if (nh == IPPROTO_NONE_)
		return FQ_PARSE_L3_ONLY;
	return fq_parse_l4(c, p, plen - used);
}

/* frame_len: the frame's length on the wire (XDP: data_end - data; tc:
 * skb->len), which bounds the IP length fields. */
static __always_inline int fq_parse(void *data, void *data_end, __u32 frame_len,
				    struct fq_pkt *p)
{
	struct fq_cursor c = { .pos = data, .end = data_end };
	struct ethhdr *eth = data;
	__u16 proto;
	int i;

	p->frame_len = frame_len;
	if ((void *)(eth + 1) > data_end)
		return FQ_PARSE_ERR_L2;
	proto = bpf_ntohs(eth->h_proto);
	c.pos = eth + 1;

	for (i = 0; i < FQ_MAX_VLAN; i++) {
		struct vlan_hdr *vh = c.pos;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		if ((void *)(vh + 1) > data_end)
			return FQ_PARSE_ERR_L2;
		if (i == 0)
			p->vlan = bpf_ntohs(vh->h_vlan_TCI) & 0x0fff;
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
		c.pos = vh + 1;
	}
	p->ethertype = proto;

	if (proto == ETH_P_IP || proto == ETH_P_IPV6) {
		__u32 l2 = c.pos - data;

		p->l2_len = l2;
		if (frame_len < l2)
			return FQ_PARSE_ERR_L3;
		if (proto == ETH_P_IP)
			return fq_parse_ipv4(&c, p, frame_len - l2);
		return fq_parse_ipv6(&c, p, frame_len - l2);
	}
	/* values below 0x0600 are IEEE 802.3 lengths, not EtherTypes: one
	 * key (0) for all of them instead of one per frame length */
	if (proto < 0x0600)
		p->ethertype = 0;
	return FQ_PARSE_NON_IP;
}

#endif /* FQ_PARSE_H */
