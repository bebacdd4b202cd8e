/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pkt.h - a small declarative packet builder for the BPF_PROG_RUN fixtures.
 *
 * A fixture describes its frame as a struct pb (designated initialisers,
 * every field zero by default) and pb_build() lays out Ethernet, up to
 * three VLAN tags, IPv4 (options, fragments) or IPv6 (extension headers),
 * TCP/UDP/ICMP/ICMPv6 and a payload.  Length fields are computed unless a
 * fixture overrides them to make a bogus packet.  pb_build() also records
 * where every header starts so that truncation tests can cut the frame at
 * each header boundary.  Checksums are left zero: the datapath never reads
 * them.
 */
#ifndef FQ_TEST_PKT_H
#define FQ_TEST_PKT_H

#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#define PB_MAX 2048
#define PB_MAX_VLAN 3
#define PB_MAX_EXT 8
#define PB_MAX_MARKS 24

/* Override value meaning "write 0 into this field" (0 means "compute"). */
#define PB_ZERO (-1)

#define PB_TPID_8021Q 0x8100
#define PB_TPID_8021AD 0x88a8

/* One IPv6 extension header.  len is its size in bytes (a multiple of 8;
 * AH: a multiple of 4, at least 12).  frag_off/m/id only for type 44. */
struct pb_ext {
	uint8_t type;
	uint16_t len;
	uint16_t frag_off; /* in 8-byte units */
	uint8_t m;
	uint32_t id;
	int hdrlen; /* override of the hdr ext len byte (0: computed) */
};

struct pb {
	/* L2 */
	int nvlan;
	uint16_t tpid[PB_MAX_VLAN];
	uint16_t vid[PB_MAX_VLAN];
	uint16_t ethertype; /* 0: 0x0800/0x86dd from ipv */
	int l2_payload;     /* non-IP frames: bytes after the EtherType */
	/* L3 */
	int ipv; /* 0 (none), 4 or 6 */
	const char *src, *dst;
	int v4_opt;   /* IPv4 option bytes (multiple of 4) */
	uint16_t v4_id;
	int v4_mf;
	int v4_df;
	uint16_t v4_frag; /* fragment offset, 8-byte units */
	int ihl;          /* override of the IHL field */
	int tot_len;      /* override of IPv4 total length / IPv6 payload length */
	int version;      /* override of the version nibble */
	int next;         /* override of the L4 protocol number (0: from l4) */
	int next_ext;     /* number of IPv6 extension headers */
	struct pb_ext ext[PB_MAX_EXT];
	/* L4 */
	int l4; /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6 or any other number */
	uint16_t sport, dport;
	uint8_t flags;  /* TCP flags byte */
	int tcp_opt;    /* TCP option bytes (multiple of 4) */
	int doff;       /* override of the TCP data offset field */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id;
	int payload;
	int pad_to; /* Ethernet padding up to this frame size */
};

struct pb_mark {
	const char *name;
	int off;
	int len;
};

struct pb_frame {
	uint8_t buf[PB_MAX];
	int len;
	int nmark;
	struct pb_mark mark[PB_MAX_MARKS];
};

static inline void pb_put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void pb_put32(uint8_t *p, uint32_t v)
{
	pb_put16(p, v >> 16);
	pb_put16(p + 2, v & 0xffff);
}

static inline void pb_mark(struct pb_frame *f, const char *name, int off, int len)
{
	if (f->nmark < PB_MAX_MARKS)
		f->mark[f->nmark++] = (struct pb_mark){ name, off, len };
}

static inline int pb_ovr(int ovr, int computed)
{
	if (ovr == PB_ZERO)
		return 0;
	return ovr ? ovr : computed;
}

/* Is this IPv4/IPv6 packet a later fragment (no L4 header)? */
static inline int pb_later_frag(const struct pb *s)
{
	if (s->ipv == 4)
		return s->v4_frag != 0;
	for (int i = 0; i < s->next_ext; i++)
		if (s->ext[i].type == 44 && s->ext[i].frag_off)
			return 1;
	return 0;
}

/* L4 header length the builder writes for s. */
static inline int pb_l4_len(const struct pb *s)
{
	if (pb_later_frag(s))
		return 0;
	switch (s->l4) {
	case 6:
		return 20 + s->tcp_opt;
	case 17:
	case 1:
	case 58:
		return 8;
	default:
		return 0;
	}
}

/* Build s into f; returns the frame length. */
static inline int pb_build(const struct pb *s, struct pb_frame *f)
{
	uint8_t *b = f->buf;
	int off = 12, l4_off, l4len, iplen, proto, i;
	uint16_t et;

	memset(f, 0, sizeof(*f));
	/* locally administered MACs */
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	pb_mark(f, "eth", 0, 14);
	for (i = 0; i < s->nvlan; i++) {
		pb_put16(b + off, s->tpid[i] ? s->tpid[i] : PB_TPID_8021Q);
		pb_put16(b + off + 2, s->vid[i]);
		pb_mark(f, i ? "vlan2" : "vlan1", off + 2, 4);
		off += 4;
	}
	et = s->ethertype;
	if (!et)
		et = s->ipv == 6 ? 0x86dd : 0x0800;
	pb_put16(b + off, et);
	off += 2;

	if (!s->ipv) {
		memset(b + off, 0xab, s->l2_payload);
		off += s->l2_payload;
		goto pad;
	}

	proto = s->next ? s->next : s->l4;
	l4len = pb_l4_len(s);
	if (s->ipv == 4) {
		int hl = 20 + s->v4_opt;
		struct in_addr a;

		b[off] = (pb_ovr(s->version, 4) << 4) | (pb_ovr(s->ihl, hl / 4) & 0xf);
		iplen = hl + l4len + s->payload;
		pb_put16(b + off + 2, pb_ovr(s->tot_len, iplen));
		pb_put16(b + off + 4, s->v4_id);
		pb_put16(b + off + 6, (s->v4_df ? 0x4000 : 0) | (s->v4_mf ? 0x2000 : 0) |
				   (s->v4_frag & 0x1fff));
		b[off + 8] = 64;
		b[off + 9] = proto;
		inet_pton(AF_INET, s->src, &a);
		memcpy(b + off + 12, &a, 4);
		inet_pton(AF_INET, s->dst, &a);
		memcpy(b + off + 16, &a, 4);
		/* options: NOPs, then End of Option List */
		memset(b + off + 20, 1, s->v4_opt);
		if (s->v4_opt)
			b[off + hl - 1] = 0;
		pb_mark(f, "ipv4", off, hl);
		off += hl;
	} else {
		struct in6_addr a;
		int extlen = 0;

		for (i = 0; i < s->next_ext; i++)
			extlen += s->ext[i].len;
		b[off] = pb_ovr(s->version, 6) << 4;
		iplen = 40 + extlen + l4len + s->payload;
		pb_put16(b + off + 4, pb_ovr(s->tot_len, iplen - 40));
		b[off + 6] = s->next_ext ? s->ext[0].type : proto;
		b[off + 7] = 64;
		inet_pton(AF_INET6, s->src, &a);
		memcpy(b + off + 8, &a, 16);
		inet_pton(AF_INET6, s->dst, &a);
		memcpy(b + off + 24, &a, 16);
		pb_mark(f, "ipv6", off, 40);
		off += 40;
		for (i = 0; i < s->next_ext; i++) {
			const struct pb_ext *e = &s->ext[i];
			uint8_t *h = b + off;

			h[0] = i + 1 < s->next_ext ? s->ext[i + 1].type : proto;
			if (e->type == 44) {
				pb_put16(h + 2, (e->frag_off << 3) | (e->m & 1));
				pb_put32(h + 4, e->id);
			} else if (e->type == 51) {
				h[1] = e->len / 4 - 2;
			} else {
				h[1] = e->len / 8 - 1;
				/* PadN over the rest keeps the options well formed */
				if (e->len > 2) {
					h[2] = 1;
					h[3] = e->len - 4;
				}
			}
			if (e->hdrlen)
				h[1] = pb_ovr(e->hdrlen, 0);
			pb_mark(f, "ext", off, e->len);
			off += e->len;
		}
	}

	l4_off = off;
	if (l4len) {
		uint8_t *h = b + l4_off;

		switch (s->l4) {
		case 6:
			pb_put16(h, s->sport);
			pb_put16(h + 2, s->dport);
			pb_put32(h + 4, 1000);
			h[12] = (pb_ovr(s->doff, l4len / 4) & 0xf) << 4;
			h[13] = s->flags;
			pb_put16(h + 14, 65535);
			/* options: NOPs then EOL */
			memset(h + 20, 1, s->tcp_opt);
			if (s->tcp_opt)
				h[l4len - 1] = 0;
			pb_mark(f, "tcp", off, l4len);
			break;
		case 17:
			pb_put16(h, s->sport);
			pb_put16(h + 2, s->dport);
			pb_put16(h + 4, 8 + s->payload);
			pb_mark(f, "udp", off, l4len);
			break;
		default: /* ICMP, ICMPv6 */
			h[0] = s->icmp_type;
			h[1] = s->icmp_code;
			pb_put16(h + 4, s->icmp_id);
			pb_put16(h + 6, 1);
			pb_mark(f, "icmp", off, l4len);
			break;
		}
		off += l4len;
	}
	for (i = 0; i < s->payload; i++)
		b[off + i] = i & 0xff;
	if (s->payload)
		pb_mark(f, "payload", off, s->payload);
	off += s->payload;
pad:
	if (off < s->pad_to) {
		memset(b + off, 0, s->pad_to - off);
		off = s->pad_to;
	}
	f->len = off;
	return off;
}

#endif /* FQ_TEST_PKT_H */
