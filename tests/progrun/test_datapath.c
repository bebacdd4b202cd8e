// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tier 2: BPF_PROG_RUN fixture table for the datapath (fq_xdp, fq_tc_egress).
 *
 * Every fixture is a short list of crafted frames, each with what the
 * datapath must make of it: the verdict, whether it is a flow packet (with
 * its canonical key, direction, IP-layer length and header length, written
 * out by hand), a parse error, a non-IP frame, an orphan fragment, or a runt
 * the kernel refuses to run.  A small model folds those per-packet facts
 * into the exact deltas of fq_totals, fq_proto and fq_ether and the exact
 * fq_flows entries (sums, squares, min/max, log2 histograms, IATs on the
 * replay clock).  Every fixture runs through XDP and through tc on a fresh
 * flow table with the same clock; both must match the model and each other.
 *
 * BPF_PROG_RUN needs data_size_in >= ETH_HLEN (14) on both hooks
 * (bpf_test_init() in net/bpf/test_run.c returns -EINVAL below that), so
 * frames shorter than 14 bytes cannot reach the program at all: those
 * fixtures assert the -EINVAL and that no map changed.  Every other fixture
 * runs on both hooks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "testlib.h"
#include "flowqoe.h"
#include "flowqoe.skel.h"
#include "pkt.h"

/* fixture tables leave every unnamed field zero on purpose */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define XDP_PASS_ 2
#define TC_ACT_OK_ 0

#define A4 "10.0.0.1"
#define B4 "10.0.0.2"
#define A6 "2001:db8::1"
#define B6 "2001:db8::2"

#define T0 1000000000ULL /* replay clock of a fixture's first packet */
#define MS 1000000ULL

/* What the datapath must make of one frame. */
enum fx_out {
	O_FLOW = 0, /* L3 counted, flow updated */
	O_ERR,      /* parse error before a valid L3 header: nothing else counted */
	O_ERR_L4,   /* L3 valid (counted), L4 bogus: parse error, no flow */
	O_NONIP,    /* counted under its EtherType */
	O_ORPHAN,   /* later fragment without its first: L3 counted, no flow */
	O_RUNT,     /* < 14 bytes: BPF_PROG_RUN refuses it */
};

enum fx_frag { F_NONE = 0, F_FIRST, F_LATER };

/* Canonical flow key: lo is the (address, port) that compares lower. */
struct fx_key {
	const char *lo, *hi;
	uint16_t plo, phi;
	uint8_t proto;
	uint16_t vlan;
};

struct fx_pkt {
	struct pb pb;
	int trunc;          /* cut the frame to this many bytes (PB_ZERO: empty) */
	uint64_t t;         /* clock offset from T0; 0: 1 ms per packet index */
	enum fx_out out;
	int key;            /* index into fixture keys (O_FLOW) */
	int dir;            /* enum fq_dir of this packet in its flow */
	uint32_t ip;        /* IP-layer bytes */
	uint32_t hdr;       /* IP header(s) + L4 header */
	enum fx_frag frag;
	int fam;            /* O_ERR_L4 / O_ORPHAN: 4 or 6 */
	int proto;          /* O_ERR_L4 / O_ORPHAN: IP protocol counted */
	uint16_t et;        /* O_NONIP: EtherType counted */
};

#define FX_MAXP 12
#define FX_MAXK 3

struct fixture {
	const char *name;
	struct fx_key k[FX_MAXK];
	struct fx_pkt p[FX_MAXP];
	int np; /* filled in from the table */
};

#define V4(s, d) .ipv = 4, .src = (s), .dst = (d)
#define V6(s, d) .ipv = 6, .src = (s), .dst = (d)
#define TCP(sp, dp, fl) .l4 = 6, .sport = (sp), .dport = (dp), .flags = (fl)
#define UDP(sp, dp) .l4 = 17, .sport = (sp), .dport = (dp)
#define ICMP(ty, co, id) .l4 = 1, .icmp_type = (ty), .icmp_code = (co), .icmp_id = (id)
#define ICMP6(ty, co, id) .l4 = 58, .icmp_type = (ty), .icmp_code = (co), .icmp_id = (id)
#define VLAN1(v) .nvlan = 1, .vid = { (v) }
#define EXT(ty, l) { .type = (ty), .len = (l) }
#define FRAG6(off, more, ident) { .type = 44, .len = 8, .frag_off = (off), .m = (more), .id = (ident) }
#define FLOW(d, iplen, hlen) .out = O_FLOW, .dir = (d), .ip = (iplen), .hdr = (hlen)
#define ERR_L4(f, pr, iplen) .out = O_ERR_L4, .fam = (f), .proto = (pr), .ip = (iplen)
#define ORPHAN(f, pr, iplen) .out = O_ORPHAN, .fam = (f), .proto = (pr), .ip = (iplen)

#define SYN 0x02
#define ACK 0x10
#define FIN 0x01
#define RST 0x04
#define PSH 0x08

static struct fixture fixtures[] = {
	/* ---- IPv4 ---- */
	{ "ipv4 tcp syn", { { A4, B4, 40000, 80, 6 } },
	  { { .pb = { V4(A4, B4), TCP(40000, 80, SYN) }, FLOW(0, 40, 40) } } },
	{ "ipv4 tcp syn-ack first: responder side is hi-lo, initiator 1", { { A4, B4, 40000, 80, 6 } },
	  { { .pb = { V4(B4, A4), TCP(80, 40000, SYN | ACK) }, FLOW(1, 40, 40) } } },
	{ "ipv4 tcp options and payload", { { A4, B4, 40001, 80, 6 } },
	  { { .pb = { V4(A4, B4), TCP(40001, 80, PSH | ACK), .tcp_opt = 12, .payload = 100 },
	      FLOW(0, 152, 52) } } },
	{ "ipv4 udp", { { A4, B4, 5353, 53, 17 } },
	  { { .pb = { V4(A4, B4), UDP(5353, 53), .payload = 30 }, FLOW(0, 58, 28) } } },
	{ "ipv4 icmp echo request and reply: one flow keyed on the identifier",
	  { { A4, B4, 0x1234, 0x1234, 1 } },
	  { { .pb = { V4(A4, B4), ICMP(8, 0, 0x1234), .payload = 56 }, FLOW(0, 84, 28) },
	    { .pb = { V4(B4, A4), ICMP(0, 0, 0x1234), .payload = 56 }, .t = 3 * MS,
	      FLOW(1, 84, 28) } } },
	{ "ipv4 icmp destination unreachable: type/code as port", { { A4, B4, 0, 0x0301, 1 } },
	  { { .pb = { V4(B4, A4), ICMP(3, 1, 0), .payload = 28 }, FLOW(1, 56, 28) } } },
	{ "ipv4 options (ihl 6) + udp", { { A4, B4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, B4), .v4_opt = 4, UDP(1000, 2000), .payload = 10 }, FLOW(0, 42, 32) } } },
	{ "ipv4 options (ihl 15, 40 option bytes) + tcp", { { A4, B4, 1000, 2000, 6 } },
	  { { .pb = { V4(A4, B4), .v4_opt = 40, TCP(1000, 2000, ACK) }, FLOW(0, 80, 80) } } },
	{ "ipv4 gre: unknown L4, flow without ports", { { A4, B4, 0, 0, 47 } },
	  { { .pb = { V4(A4, B4), .l4 = 47, .payload = 24 }, FLOW(0, 44, 20) } } },
	{ "ipv4 tot_len 0 (TSO): length taken from the frame", { { A4, B4, 1000, 2000, 6 } },
	  { { .pb = { V4(A4, B4), TCP(1000, 2000, ACK), .payload = 100, .tot_len = PB_ZERO },
	      FLOW(0, 140, 40) } } },
	{ "ipv4 udp in a padded 60-byte frame: bytes from tot_len", { { A4, B4, 7, 7, 17 } },
	  { { .pb = { V4(A4, B4), UDP(7, 7), .payload = 2, .pad_to = 60 }, FLOW(0, 30, 28) } } },
	{ "ipv4 DF set: not a fragment", { { A4, B4, 1000, 2000, 6 } },
	  { { .pb = { V4(A4, B4), .v4_df = 1, .v4_id = 3, TCP(1000, 2000, ACK), .payload = 5 },
	      FLOW(0, 45, 40) } } },
	{ "tcp rst", { { A4, B4, 1000, 2000, 6 } },
	  { { .pb = { V4(B4, A4), TCP(2000, 1000, RST | ACK) }, FLOW(1, 40, 40) } } },
	{ "tcp with all eight flags", { { A4, B4, 1000, 2000, 6 } },
	  { { .pb = { V4(A4, B4), TCP(1000, 2000, 0xff) }, FLOW(0, 40, 40) } } },
	{ "same address both ends: ports order the key", { { A4, A4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, A4), UDP(2000, 1000), .payload = 1 }, FLOW(1, 29, 28) },
	    { .pb = { V4(A4, A4), UDP(1000, 2000), .payload = 3 }, FLOW(0, 31, 28) } } },

	/* ---- IPv6 ---- */
	{ "ipv6 tcp syn", { { A6, B6, 40000, 443, 6 } },
	  { { .pb = { V6(A6, B6), TCP(40000, 443, SYN) }, FLOW(0, 60, 60) } } },
	{ "ipv6 udp hi-lo", { { A6, B6, 5353, 53, 17 } },
	  { { .pb = { V6(B6, A6), UDP(53, 5353), .payload = 100 }, FLOW(1, 148, 48) } } },
	{ "ipv6 icmpv6 echo request and reply", { { A6, B6, 7, 7, 58 } },
	  { { .pb = { V6(A6, B6), ICMP6(128, 0, 7), .payload = 32 }, FLOW(0, 80, 48) },
	    { .pb = { V6(B6, A6), ICMP6(129, 0, 7), .payload = 32 }, .t = 2500000,
	      FLOW(1, 80, 48) } } },
	{ "ipv6 icmpv6 neighbour solicitation", { { A6, "ff02::1:ff00:2", 0x8700, 0, 58 } },
	  { { .pb = { V6(A6, "ff02::1:ff00:2"), ICMP6(135, 0, 0), .payload = 16 },
	      FLOW(0, 64, 48) } } },
	{ "ipv6 hop-by-hop + udp", { { A6, B6, 1000, 2000, 17 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { EXT(0, 8) }, UDP(1000, 2000),
		      .payload = 20 }, FLOW(0, 76, 56) } } },
	{ "ipv6 hop-by-hop + routing + dstopts + tcp", { { A6, B6, 1000, 2000, 6 } },
	  { { .pb = { V6(A6, B6), .next_ext = 3, .ext = { EXT(0, 8), EXT(43, 24), EXT(60, 16) },
		      TCP(1000, 2000, ACK), .payload = 10 }, FLOW(0, 118, 108) } } },
	{ "ipv6 AH + tcp", { { A6, B6, 1000, 2000, 6 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { EXT(51, 24) }, TCP(1000, 2000, ACK) },
	      FLOW(0, 84, 84) } } },
	{ "ipv6 six extension headers (the walk limit) + udp", { { A6, B6, 1000, 2000, 17 } },
	  { { .pb = { V6(A6, B6), .next_ext = 6,
		      .ext = { EXT(0, 8), EXT(60, 8), EXT(43, 8), EXT(60, 8), EXT(60, 8), EXT(60, 8) },
		      UDP(1000, 2000), .payload = 4 }, FLOW(0, 100, 96) } } },
	{ "ipv6 seven extension headers: too long, counted at L3 under the unwalked header",
	  { { A6, B6, 0, 0, 60 } },
	  { { .pb = { V6(A6, B6), .next_ext = 7,
		      .ext = { EXT(0, 8), EXT(60, 8), EXT(43, 8), EXT(60, 8), EXT(60, 8), EXT(60, 8),
			       EXT(60, 8) },
		      UDP(1000, 2000), .payload = 4 }, FLOW(0, 108, 88) } } },
	{ "ipv6 no next header (59)", { { A6, B6, 0, 0, 59 } },
	  { { .pb = { V6(A6, B6), .l4 = 59 }, FLOW(0, 40, 40) } } },
	{ "ipv6 extension header longer than the payload length", { { 0 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { { .type = 0, .len = 8, .hdrlen = 3 } },
		      UDP(1000, 2000) }, .out = O_ERR } } },
	{ "ipv6 and ipv4-mapped ipv6 of the same addresses: two flows",
	  { { A4, B4, 1, 2, 17 }, { "::ffff:10.0.0.1", "::ffff:10.0.0.2", 1, 2, 17 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2) }, FLOW(0, 28, 28) },
	    { .pb = { V6("::ffff:10.0.0.1", "::ffff:10.0.0.2"), UDP(1, 2) }, .key = 1,
	      FLOW(0, 48, 48) } } },

	/* ---- fragments ---- */
	{ "ipv4 first fragment (ports parsed)", { { A4, B4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 77, UDP(1000, 2000), .payload = 1000 },
	      FLOW(0, 1028, 28), .frag = F_FIRST } } },
	{ "ipv4 first, later and last fragments: one flow", { { A4, B4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 77, UDP(1000, 2000), .payload = 1000 },
	      FLOW(0, 1028, 28), .frag = F_FIRST },
	    { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 77, .v4_frag = 126, .l4 = 17, .payload = 1000 },
	      .t = 1000, FLOW(0, 1020, 20), .frag = F_LATER },
	    { .pb = { V4(A4, B4), .v4_id = 77, .v4_frag = 252, .l4 = 17, .payload = 300 },
	      .t = 3000, FLOW(0, 320, 20), .frag = F_LATER } } },
	{ "ipv4 orphan later fragment", { { 0 } },
	  { { .pb = { V4(A4, B4), .v4_id = 78, .v4_frag = 126, .l4 = 17, .payload = 100 },
	      ORPHAN(4, 17, 120) } } },
	{ "ipv4 later fragment with another IP id is an orphan", { { A4, B4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 1, UDP(1000, 2000), .payload = 100 },
	      FLOW(0, 128, 28), .frag = F_FIRST },
	    { .pb = { V4(A4, B4), .v4_id = 2, .v4_frag = 14, .l4 = 17, .payload = 50 },
	      ORPHAN(4, 17, 70) } } },
	{ "ipv4 later fragment of another protocol is an orphan", { { A4, B4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 5, UDP(1000, 2000), .payload = 100 },
	      FLOW(0, 128, 28), .frag = F_FIRST },
	    { .pb = { V4(A4, B4), .v4_id = 5, .v4_frag = 14, .l4 = 6, .payload = 50 },
	      ORPHAN(4, 6, 70) } } },
	{ "ipv4 gre first and later fragment: attributed without ports", { { A4, B4, 0, 0, 47 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 9, .l4 = 47, .payload = 104 },
	      FLOW(0, 124, 20), .frag = F_FIRST },
	    { .pb = { V4(A4, B4), .v4_id = 9, .v4_frag = 13, .l4 = 47, .payload = 50 },
	      FLOW(0, 70, 20), .frag = F_LATER } } },
	{ "ipv4 tiny first fragment (tcp cut by tot_len): error, later is an orphan", { { 0 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 6, TCP(1000, 2000, ACK), .tot_len = 28 },
	      ERR_L4(4, 6, 28) },
	    { .pb = { V4(A4, B4), .v4_id = 6, .v4_frag = 1, .l4 = 6, .payload = 40 },
	      ORPHAN(4, 6, 60) } } },
	{ "ipv6 first fragment + udp", { { A6, B6, 1000, 2000, 17 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { FRAG6(0, 1, 0xabcd) }, UDP(1000, 2000),
		      .payload = 1000 }, FLOW(0, 1056, 56), .frag = F_FIRST } } },
	{ "ipv6 first and later fragment: one flow", { { A6, B6, 1000, 2000, 17 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { FRAG6(0, 1, 0xabcd) }, UDP(1000, 2000),
		      .payload = 1000 }, FLOW(0, 1056, 56), .frag = F_FIRST },
	    { .pb = { V6(A6, B6), .next_ext = 1, .ext = { FRAG6(126, 0, 0xabcd) }, .l4 = 17,
		      .payload = 200 }, .t = 20000, FLOW(0, 248, 48), .frag = F_LATER } } },
	{ "ipv6 hop-by-hop + first fragment, then later fragment", { { A6, B6, 1000, 2000, 6 } },
	  { { .pb = { V6(A6, B6), .next_ext = 2, .ext = { EXT(0, 8), FRAG6(0, 1, 42) },
		      TCP(1000, 2000, ACK), .payload = 500 }, FLOW(0, 576, 76), .frag = F_FIRST },
	    { .pb = { V6(A6, B6), .next_ext = 2, .ext = { EXT(0, 8), FRAG6(65, 0, 42) }, .l4 = 6,
		      .payload = 100 }, FLOW(0, 156, 56), .frag = F_LATER } } },
	{ "ipv6 atomic fragment (offset 0, no M): not a fragment", { { A6, B6, 1000, 2000, 17 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { FRAG6(0, 0, 77) }, UDP(1000, 2000),
		      .payload = 8 }, FLOW(0, 64, 56) } } },
	{ "ipv4 later fragment in the reverse direction is an orphan", { { A4, B4, 1000, 2000, 17 } },
	  { { .pb = { V4(A4, B4), .v4_mf = 1, .v4_id = 4, UDP(1000, 2000), .payload = 100 },
	      FLOW(0, 128, 28), .frag = F_FIRST },
	    { .pb = { V4(B4, A4), .v4_id = 4, .v4_frag = 14, .l4 = 17, .payload = 50 },
	      ORPHAN(4, 17, 70) } } },
	{ "ipv6 orphan later fragment", { { 0 } },
	  { { .pb = { V6(A6, B6), .next_ext = 1, .ext = { FRAG6(126, 0, 0x9999) }, .l4 = 17,
		      .payload = 200 }, ORPHAN(6, 17, 248) } } },

	/* ---- VLAN ---- */
	{ "802.1Q vlan 100 + ipv4 tcp", { { A4, B4, 1000, 80, 6, 100 } },
	  { { .pb = { VLAN1(100), V4(A4, B4), TCP(1000, 80, ACK), .payload = 10 },
	      FLOW(0, 50, 40) } } },
	{ "802.1ad 200 + 802.1Q 300 (QinQ) + ipv6 udp: outer id", { { A6, B6, 1000, 2000, 17, 200 } },
	  { { .pb = { .nvlan = 2, .tpid = { PB_TPID_8021AD, PB_TPID_8021Q }, .vid = { 200, 300 },
		      V6(A6, B6), UDP(1000, 2000), .payload = 10 }, FLOW(0, 58, 48) } } },
	{ "single 802.1ad tag + ipv4 udp", { { A4, B4, 1, 2, 17, 4094 } },
	  { { .pb = { .nvlan = 1, .tpid = { PB_TPID_8021AD }, .vid = { 4094 }, V4(A4, B4), UDP(1, 2) },
	      FLOW(0, 28, 28) } } },
	{ "priority-tagged frame (vlan id 0)", { { A4, B4, 1, 2, 17, 0 } },
	  { { .pb = { VLAN1(0x6000), V4(A4, B4), UDP(1, 2) }, FLOW(0, 28, 28) } } },
	{ "vlan TCI with priority bits: id only", { { A4, B4, 1, 2, 17, 10 } },
	  { { .pb = { VLAN1(0xe00a), V4(A4, B4), UDP(1, 2) }, FLOW(0, 28, 28) } } },
	{ "same 5-tuple on two vlans: two flows", { { A4, B4, 1, 2, 17, 10 }, { A4, B4, 1, 2, 17, 20 } },
	  { { .pb = { VLAN1(10), V4(A4, B4), UDP(1, 2) }, FLOW(0, 28, 28) },
	    { .pb = { VLAN1(20), V4(B4, A4), UDP(2, 1) }, .key = 1, FLOW(1, 28, 28) } } },

	/* ---- non-IP ---- */
	{ "arp", { { 0 } },
	  { { .pb = { .ethertype = 0x0806, .l2_payload = 28 }, .out = O_NONIP, .et = 0x0806 } } },
	{ "802.1Q arp", { { 0 } },
	  { { .pb = { VLAN1(5), .ethertype = 0x0806, .l2_payload = 28 }, .out = O_NONIP,
	      .et = 0x0806 } } },
	{ "lldp", { { 0 } },
	  { { .pb = { .ethertype = 0x88cc, .l2_payload = 20 }, .out = O_NONIP, .et = 0x88cc } } },
	{ "three vlan tags: counted under the third TPID", { { 0 } },
	  { { .pb = { .nvlan = 3, .vid = { 1, 2, 3 }, V4(A4, B4), UDP(1, 2) }, .out = O_NONIP,
	      .et = 0x8100 } } },
	{ "802.3 length field (LLC/STP): counted under EtherType 0", { { 0 } },
	  { { .pb = { .ethertype = 0x0026, .l2_payload = 38 }, .out = O_NONIP, .et = 0 },
	    { .pb = { .ethertype = 0x0030, .l2_payload = 46 }, .out = O_NONIP, .et = 0 } } },
	{ "ethernet header only (14 bytes, ipv4 type)", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2) }, .trunc = 14, .out = O_ERR } } },
	{ "ethernet header only, arp type", { { 0 } },
	  { { .pb = { .ethertype = 0x0806 }, .out = O_NONIP, .et = 0x0806 } } },
	{ "runt 13 bytes: BPF_PROG_RUN refuses it on both hooks", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2) }, .trunc = 13, .out = O_RUNT } } },
	{ "empty frame: BPF_PROG_RUN refuses it on both hooks", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2) }, .trunc = PB_ZERO, .out = O_RUNT } } },

	/* ---- bogus length fields ---- */
	{ "bogus ihl 4", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2), .ihl = 4 }, .out = O_ERR } } },
	{ "bogus ihl 0", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2), .ihl = PB_ZERO }, .out = O_ERR } } },
	{ "bogus ihl 15 beyond the frame", { { 0 } },
	  { { .pb = { V4(A4, B4), .l4 = 47, .ihl = 15 }, .out = O_ERR } } },
	{ "bogus tot_len 19", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2), .tot_len = 19 }, .out = O_ERR } } },
	{ "bogus tot_len 24 < ihl*4 28", { { 0 } },
	  { { .pb = { V4(A4, B4), .v4_opt = 8, UDP(1, 2), .tot_len = 24 }, .out = O_ERR } } },
	{ "bogus tot_len beyond the frame", { { 0 } },
	  { { .pb = { V4(A4, B4), TCP(1, 2, ACK), .tot_len = 1500 }, .out = O_ERR } } },
	{ "version 6 in an ipv4 frame", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2), .version = 6 }, .out = O_ERR } } },
	{ "version 4 in an ipv6 frame", { { 0 } },
	  { { .pb = { V6(A6, B6), UDP(1, 2), .version = 4 }, .out = O_ERR } } },
	{ "ipv6 payload length beyond the frame", { { 0 } },
	  { { .pb = { V6(A6, B6), UDP(1, 2), .tot_len = 500 }, .out = O_ERR } } },
	{ "bogus tcp doff 4", { { 0 } },
	  { { .pb = { V4(A4, B4), TCP(1, 2, ACK), .doff = 4 }, ERR_L4(4, 6, 40) } } },
	{ "tcp doff 15 past tot_len", { { 0 } },
	  { { .pb = { V4(A4, B4), TCP(1, 2, ACK), .doff = 15, .payload = 10 }, ERR_L4(4, 6, 50) } } },
	{ "udp header past tot_len", { { 0 } },
	  { { .pb = { V4(A4, B4), UDP(1, 2), .tot_len = 24 }, ERR_L4(4, 17, 24) } } },
	{ "icmp header past tot_len", { { 0 } },
	  { { .pb = { V4(A4, B4), ICMP(8, 0, 1), .tot_len = 24 }, ERR_L4(4, 1, 24) } } },
	{ "ipv6 tcp doff past payload length", { { 0 } },
	  { { .pb = { V6(A6, B6), TCP(1, 2, ACK), .doff = 15 }, ERR_L4(6, 6, 60) } } },

	/* ---- a TCP session: handshake, data, FIN both ways (see test_session) ---- */
	{ "tcp session: handshake, data, FIN both ways", { { "10.1.0.1", "10.1.0.2", 51000, 443, 6 } },
	  {
	    { .pb = { V4("10.1.0.1", "10.1.0.2"), TCP(51000, 443, SYN), .tcp_opt = 20 },
	      .t = 1, FLOW(0, 60, 60) },
	    { .pb = { V4("10.1.0.2", "10.1.0.1"), TCP(443, 51000, SYN | ACK), .tcp_opt = 20 },
	      .t = 1 + 1000 * 1000, FLOW(1, 60, 60) },
	    { .pb = { V4("10.1.0.1", "10.1.0.2"), TCP(51000, 443, ACK) },
	      .t = 1 + 1500 * 1000, FLOW(0, 40, 40) },
	    { .pb = { V4("10.1.0.1", "10.1.0.2"), TCP(51000, 443, PSH | ACK), .payload = 100 },
	      .t = 1 + 2500 * 1000, FLOW(0, 140, 40) },
	    { .pb = { V4("10.1.0.2", "10.1.0.1"), TCP(443, 51000, ACK), .payload = 1000 },
	      .t = 1 + 12500 * 1000, FLOW(1, 1040, 40) },
	    { .pb = { V4("10.1.0.2", "10.1.0.1"), TCP(443, 51000, PSH | ACK), .payload = 500 },
	      .t = 1 + 13000 * 1000, FLOW(1, 540, 40) },
	    { .pb = { V4("10.1.0.1", "10.1.0.2"), TCP(51000, 443, ACK) },
	      .t = 1 + 14000 * 1000, FLOW(0, 40, 40) },
	    { .pb = { V4("10.1.0.1", "10.1.0.2"), TCP(51000, 443, FIN | ACK) },
	      .t = 1 + 20000 * 1000, FLOW(0, 40, 40) },
	    { .pb = { V4("10.1.0.2", "10.1.0.1"), TCP(443, 51000, FIN | ACK) },
	      .t = 1 + 21000 * 1000, FLOW(1, 40, 40) },
	    { .pb = { V4("10.1.0.1", "10.1.0.2"), TCP(51000, 443, ACK) },
	      .t = 1 + 22000 * 1000, FLOW(0, 40, 40) },
	  } },
};

#define NFIX (sizeof(fixtures) / sizeof(fixtures[0]))

/* ---------------------------------------------------------------------- */
/* Snapshots of the maps                                                  */

#define MAX_ETHER 64
#define MAX_FLOWS 64

struct ether_ent {
	uint32_t et;
	struct fq_ether_ctr c;
};

struct flow_ent {
	struct fq_flow_key k;
	struct fq_flow v;
};

struct snap {
	struct fq_totals t;
	struct fq_proto_ctr proto[256];
	int nether;
	struct ether_ent ether[MAX_ETHER];
	int nflows;
	struct flow_ent flows[MAX_FLOWS];
};

static struct flowqoe *skel;
static int ncpu;
static void *pcpu_buf;

/* Sum a per-CPU value made of u64 counters (every counter struct here is). */
static int pcpu_sum(int fd, const void *key, void *out, size_t size)
{
	size_t stride = (size + 7) & ~7UL;
	uint64_t *o = out;

	memset(out, 0, size);
	if (bpf_map_lookup_elem(fd, key, pcpu_buf))
		return -errno;
	for (int c = 0; c < ncpu; c++) {
		const uint64_t *v = (const uint64_t *)((char *)pcpu_buf + c * stride);

		for (size_t i = 0; i < size / 8; i++)
			o[i] += v[i];
	}
	return 0;
}

static int take_snap(struct snap *s)
{
	int fd;
	uint32_t k = 0, nk;
	struct fq_flow_key fk, fnk;
	void *prev;

	memset(s, 0, sizeof(*s));
	if (pcpu_sum(bpf_map__fd(skel->maps.fq_totals), &k, &s->t, sizeof(s->t)))
		return -1;
	fd = bpf_map__fd(skel->maps.fq_proto);
	for (k = 0; k < 256; k++)
		if (pcpu_sum(fd, &k, &s->proto[k], sizeof(s->proto[k])))
			return -1;

	fd = bpf_map__fd(skel->maps.fq_ether);
	prev = NULL;
	while (!bpf_map_get_next_key(fd, prev, &nk)) {
		if (s->nether == MAX_ETHER)
			return -1;
		s->ether[s->nether].et = nk;
		if (pcpu_sum(fd, &nk, &s->ether[s->nether].c, sizeof(struct fq_ether_ctr)))
			return -1;
		s->nether++;
		k = nk;
		prev = &k;
	}

	fd = bpf_map__fd(skel->maps.fq_flows);
	prev = NULL;
	while (!bpf_map_get_next_key(fd, prev, &fnk)) {
		if (s->nflows == MAX_FLOWS)
			return -1;
		s->flows[s->nflows].k = fnk;
		if (bpf_map_lookup_elem(fd, &fnk, &s->flows[s->nflows].v))
			return -1;
		s->nflows++;
		fk = fnk;
		prev = &fk;
	}
	return 0;
}

static void clear_map(struct bpf_map *m)
{
	char key[256], next[256];
	int fd = bpf_map__fd(m);

	/* always restart from the first key: deleting invalidates the walk */
	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, sizeof(key));
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

/* ---------------------------------------------------------------------- */
/* The model: per-packet facts folded into the expected map contents       */

static uint32_t ilog2(uint64_t v)
{
	uint32_t r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static void key_of(const struct fx_key *x, struct fq_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	if (strchr(x->lo, ':')) {
		inet_pton(AF_INET6, x->lo, k->addr_lo);
		inet_pton(AF_INET6, x->hi, k->addr_hi);
		k->family = 6;
	} else {
		k->addr_lo[10] = k->addr_lo[11] = 0xff;
		k->addr_hi[10] = k->addr_hi[11] = 0xff;
		inet_pton(AF_INET, x->lo, k->addr_lo + 12);
		inet_pton(AF_INET, x->hi, k->addr_hi + 12);
		k->family = 4;
	}
	k->port_lo = x->plo;
	k->port_hi = x->phi;
	k->proto = x->proto;
	k->vlan = x->vlan;
}

static void model_dir(struct fq_dir_stats *d, const struct fx_pkt *p, uint64_t now)
{
	uint32_t s = p->ip, bin;

	d->packets++;
	d->bytes += s;
	d->size_sq += (uint64_t)s * s;
	d->hdr_bytes += p->hdr;
	d->payload += s > p->hdr ? s - p->hdr : 0;
	bin = ilog2(s);
	d->size_hist[bin < FQ_SIZE_BINS ? bin : FQ_SIZE_BINS - 1]++;
	if (s < d->size_min)
		d->size_min = s;
	if (s > d->size_max)
		d->size_max = s;
	if (!d->last_ns) {
		d->first_ns = now;
	} else {
		uint64_t iat = now - d->last_ns;

		bin = ilog2(iat / 1000);
		d->iat_hist[bin < FQ_IAT_BINS ? bin : FQ_IAT_BINS - 1]++;
		d->iat_sum += iat;
		d->iat_sq += (iat / 1000) * (iat / 1000);
		if (iat < d->iat_min)
			d->iat_min = iat;
		if (iat > d->iat_max)
			d->iat_max = iat;
	}
	d->last_ns = now;
}

static uint64_t pkt_time(const struct fixture *fx, int i)
{
	return T0 + (fx->p[i].t ? fx->p[i].t : (uint64_t)i * MS);
}

/* Expected deltas (totals, proto, ether) and the expected flow table. */
static int max_flows; /* capacity of fq_flows as loaded */

static void model(const struct fixture *fx, const int *frame_len, const int *refused,
		  int hook, struct snap *m)
{
	/* keys of the flows refused so far: flow_full counts each once */
	struct fq_flow_key gone[FX_MAXP];
	int ngone = 0;

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < fx->np; i++) {
		const struct fx_pkt *p = &fx->p[i];
		uint64_t now = pkt_time(fx, i);
		int fam = p->fam, proto = p->proto;
		struct fq_flow_key k;
		struct flow_ent *fe = NULL;

		if (p->out == O_RUNT || refused[i])
			continue;
		m->t.packets[hook]++;
		m->t.bytes[hook] += frame_len[i];
		switch (p->out) {
		case O_ERR:
			m->t.parse_errors++;
			continue;
		case O_NONIP: {
			int j;

			m->t.non_ip++;
			for (j = 0; j < m->nether; j++)
				if (m->ether[j].et == p->et)
					break;
			if (j == m->nether)
				m->ether[m->nether++].et = p->et;
			m->ether[j].c.packets[hook]++;
			m->ether[j].c.bytes[hook] += frame_len[i];
			continue;
		}
		case O_FLOW:
			key_of(&fx->k[p->key], &k);
			fam = k.family;
			proto = k.proto;
			break;
		default:
			break;
		}
		/* valid L3 */
		if (fam == 4)
			m->t.ipv4++;
		else
			m->t.ipv6++;
		m->t.ip_bytes[hook] += p->ip;
		m->proto[proto].packets[hook]++;
		m->proto[proto].bytes[hook] += p->ip;
		if (p->out == O_ERR_L4) {
			m->t.parse_errors++;
			continue;
		}
		if (p->out == O_ORPHAN) {
			m->t.frag_orphan++;
			continue;
		}
		if (p->frag == F_FIRST)
			m->t.frag_first++;
		if (p->frag == F_LATER)
			m->t.frag_later++;

		for (int j = 0; j < m->nflows; j++)
			if (!memcmp(&m->flows[j].k, &k, sizeof(k)))
				fe = &m->flows[j];
		if (!fe && m->nflows == max_flows) {
			/* table full: the packet is counted everywhere but
			 * in a flow; the flow once in flow_full */
			int seen = 0;

			for (int j = 0; j < ngone; j++)
				seen |= !memcmp(&gone[j], &k, sizeof(k));
			if (!seen) {
				gone[ngone++] = k;
				m->t.flow_full++;
			}
			m->t.untracked++;
			continue;
		}
		if (!fe) {
			fe = &m->flows[m->nflows++];
			fe->k = k;
			fe->v.initiator = p->dir;
			fe->v.first_ns = now;
			fe->v.iat_min = ~0ULL;
			for (int d = 0; d < FQ_DIR_MAX; d++) {
				fe->v.dir[d].size_min = ~0U;
				fe->v.dir[d].iat_min = ~0ULL;
			}
			m->t.new_flows++;
		}
		model_dir(&fe->v.dir[p->dir], p, now);
		if (fe->v.last_ns) {
			uint64_t iat = now - fe->v.last_ns;

			fe->v.iat_sum += iat;
			fe->v.iat_sq += (iat / 1000) * (iat / 1000);
			if (iat < fe->v.iat_min)
				fe->v.iat_min = iat;
			if (iat > fe->v.iat_max)
				fe->v.iat_max = iat;
		}
		fe->v.last_ns = now;
		if (p->frag == F_LATER)
			fe->v.frags++;
		if (proto == 6 && p->frag != F_LATER) {
			uint8_t f = p->pb.flags;

			for (int b = 0; b < FQ_NFLAGS; b++)
				if (f & (1 << b))
					fe->v.dir[p->dir].flags[b]++;
			if (f & FIN)
				fe->v.fin_seen |= 1u << p->dir;
			if (f & RST)
				fe->v.rst_seen = 1;
		}
	}
}

/* ---------------------------------------------------------------------- */
/* Comparison                                                             */

struct diff {
	char msg[1024];
	int n;
};

static void __attribute__((format(printf, 2, 3))) dif(struct diff *d, const char *fmt, ...)
{
	size_t l = strlen(d->msg);
	va_list ap;

	d->n++;
	if (d->n > 4) /* the first few say enough */
		return;
	if (l && l < sizeof(d->msg) - 2) {
		strcat(d->msg, "; ");
		l += 2;
	}
	va_start(ap, fmt);
	vsnprintf(d->msg + l, sizeof(d->msg) - l, fmt, ap);
	va_end(ap);
}

#define CMPF(d, what, got, want)                                              \
	do {                                                                  \
		if ((uint64_t)(got) != (uint64_t)(want))                      \
			dif(d, "%s: got %llu, want %llu", what,               \
			    (unsigned long long)(got), (unsigned long long)(want)); \
	} while (0)

static void cmp_dir(struct diff *df, const char *pfx, const struct fq_dir_stats *g,
		    const struct fq_dir_stats *w)
{
	char n[96];

#define D(f) do { snprintf(n, sizeof(n), "%s." #f, pfx); CMPF(df, n, g->f, w->f); } while (0)
	D(packets); D(bytes); D(first_ns); D(last_ns); D(size_sq); D(payload);
	D(hdr_bytes); D(iat_sum); D(iat_sq); D(iat_min); D(iat_max); D(size_min);
	D(size_max);
#undef D
	for (int i = 0; i < FQ_NFLAGS; i++) {
		snprintf(n, sizeof(n), "%s.flags[%d]", pfx, i);
		CMPF(df, n, g->flags[i], w->flags[i]);
	}
	for (int i = 0; i < FQ_SIZE_BINS; i++) {
		snprintf(n, sizeof(n), "%s.size_hist[%d]", pfx, i);
		CMPF(df, n, g->size_hist[i], w->size_hist[i]);
	}
	for (int i = 0; i < FQ_IAT_BINS; i++) {
		snprintf(n, sizeof(n), "%s.iat_hist[%d]", pfx, i);
		CMPF(df, n, g->iat_hist[i], w->iat_hist[i]);
	}
}

static void key_str(const struct fq_flow_key *k, char *buf, size_t len)
{
	char lo[INET6_ADDRSTRLEN], hi[INET6_ADDRSTRLEN];

	if (k->family == 4) {
		inet_ntop(AF_INET, k->addr_lo + 12, lo, sizeof(lo));
		inet_ntop(AF_INET, k->addr_hi + 12, hi, sizeof(hi));
	} else {
		inet_ntop(AF_INET6, k->addr_lo, lo, sizeof(lo));
		inet_ntop(AF_INET6, k->addr_hi, hi, sizeof(hi));
	}
	snprintf(buf, len, "%s:%u-%s:%u/p%u/v%u/f%u", lo, k->port_lo, hi, k->port_hi,
		 k->proto, k->vlan, k->family);
}

static void cmp_flow(struct diff *df, const struct fq_flow *g, const struct fq_flow *w)
{
	cmp_dir(df, "dir[0]", &g->dir[0], &w->dir[0]);
	cmp_dir(df, "dir[1]", &g->dir[1], &w->dir[1]);
#define F(f) CMPF(df, #f, g->f, w->f)
	F(first_ns); F(last_ns); F(iat_sum); F(iat_sq); F(iat_min); F(iat_max);
	F(initiator); F(rst_seen); F(fin_seen); F(frags);
#undef F
}

static const char *const tot_names[] = {
	"packets[in]", "packets[out]", "bytes[in]", "bytes[out]", "ip_bytes[in]",
	"ip_bytes[out]", "ipv4", "ipv6", "non_ip", "parse_errors", "frag_first",
	"frag_later", "frag_orphan", "untracked", "new_flows", "flow_full",
};

static const struct ether_ent *find_ether(const struct snap *s, uint32_t et)
{
	for (int i = 0; i < s->nether; i++)
		if (s->ether[i].et == et)
			return &s->ether[i];
	return NULL;
}

/* Compare the deltas after - before and the flow table (after) with m. */
static void cmp_snap(struct diff *df, const struct snap *b, const struct snap *a,
		     const struct snap *m)
{
	const uint64_t *tb = (const uint64_t *)&b->t, *ta = (const uint64_t *)&a->t;
	const uint64_t *tm = (const uint64_t *)&m->t;
	char n[160];

	_Static_assert(sizeof(tot_names) / sizeof(tot_names[0]) ==
		       sizeof(struct fq_totals) / 8, "fq_totals fields");
	for (size_t i = 0; i < sizeof(struct fq_totals) / 8; i++) {
		snprintf(n, sizeof(n), "fq_totals.%s", tot_names[i]);
		CMPF(df, n, ta[i] - tb[i], tm[i]);
	}
	for (int p = 0; p < 256; p++)
		for (int h = 0; h < FQ_HOOK_MAX; h++) {
			snprintf(n, sizeof(n), "fq_proto[%d].packets[%d]", p, h);
			CMPF(df, n, a->proto[p].packets[h] - b->proto[p].packets[h],
			     m->proto[p].packets[h]);
			snprintf(n, sizeof(n), "fq_proto[%d].bytes[%d]", p, h);
			CMPF(df, n, a->proto[p].bytes[h] - b->proto[p].bytes[h],
			     m->proto[p].bytes[h]);
		}
	/* every EtherType present after, and every one the model expects */
	for (int i = 0; i < a->nether; i++) {
		const struct ether_ent *eb = find_ether(b, a->ether[i].et);
		const struct ether_ent *em = find_ether(m, a->ether[i].et);

		for (int h = 0; h < FQ_HOOK_MAX; h++) {
			snprintf(n, sizeof(n), "fq_ether[0x%04x].packets[%d]", a->ether[i].et, h);
			CMPF(df, n, a->ether[i].c.packets[h] - (eb ? eb->c.packets[h] : 0),
			     em ? em->c.packets[h] : 0);
			snprintf(n, sizeof(n), "fq_ether[0x%04x].bytes[%d]", a->ether[i].et, h);
			CMPF(df, n, a->ether[i].c.bytes[h] - (eb ? eb->c.bytes[h] : 0),
			     em ? em->c.bytes[h] : 0);
		}
	}
	for (int i = 0; i < m->nether; i++)
		if (!find_ether(a, m->ether[i].et))
			dif(df, "fq_ether[0x%04x] missing", m->ether[i].et);

	CMPF(df, "flow count", a->nflows, m->nflows);
	for (int i = 0; i < m->nflows; i++) {
		const struct flow_ent *g = NULL;
		char ks[200];

		for (int j = 0; j < a->nflows; j++)
			if (!memcmp(&a->flows[j].k, &m->flows[i].k, sizeof(m->flows[i].k)))
				g = &a->flows[j];
		key_str(&m->flows[i].k, ks, sizeof(ks));
		if (!g) {
			dif(df, "flow %s missing", ks);
			continue;
		}
		cmp_flow(df, &g->v, &m->flows[i].v);
	}
	for (int j = 0; j < a->nflows; j++) {
		int found = 0;
		char ks[200];

		for (int i = 0; i < m->nflows; i++)
			found |= !memcmp(&a->flows[j].k, &m->flows[i].k, sizeof(a->flows[j].k));
		key_str(&a->flows[j].k, ks, sizeof(ks));
		if (!found)
			dif(df, "unexpected flow %s", ks);
	}
}

/* ---------------------------------------------------------------------- */
/* Running                                                                */

static int build(const struct fx_pkt *p, struct pb_frame *f)
{
	pb_build(&p->pb, f);
	if (p->trunc == PB_ZERO)
		f->len = 0;
	else if (p->trunc && p->trunc < f->len)
		f->len = p->trunc;
	return f->len;
}

/*
 * Besides the 14-byte minimum of both hooks, BPF_PROG_RUN for SCHED_CLS on
 * this kernel (6.18) also refuses with -EINVAL an untagged IPv4 frame with
 * fewer than 20 bytes after Ethernet and an IPv6 frame with fewer than 40
 * (it copies the addresses into a dummy socket first; measured here, older
 * kernels run them).  Such frames are allowed to be refused on tc, and then
 * count for nothing; if the kernel runs them, they must count as on XDP.
 */
static int tc_may_refuse(const struct pb_frame *f)
{
	int et;

	if (f->len < 14)
		return 1;
	et = f->buf[12] << 8 | f->buf[13];
	return (et == 0x0800 && f->len - 14 < 20) || (et == 0x86dd && f->len - 14 < 40);
}

/* Runs fx through one hook on a fresh flow table; result in *after. */
static void run_hook(const struct fixture *fx, int hook, struct diff *df, struct snap *after)
{
	static struct snap before, want;
	struct bpf_program *prog = hook == FQ_HOOK_INGRESS ? skel->progs.fq_xdp
							   : skel->progs.fq_tc_egress;
	int pass = hook == FQ_HOOK_INGRESS ? XDP_PASS_ : TC_ACT_OK_;
	int lens[FX_MAXP], refused[FX_MAXP] = { 0 };
	struct pb_frame f;

	clear_map(skel->maps.fq_flows);
	clear_map(skel->maps.fq_frags);
	clear_map(skel->maps.fq_refused);
	if (take_snap(&before)) {
		dif(df, "reading maps failed: %s", strerror(errno));
		return;
	}
	for (int i = 0; i < fx->np; i++) {
		const struct fx_pkt *p = &fx->p[i];
		LIBBPF_OPTS(bpf_test_run_opts, o);
		uint8_t out[PB_MAX + 64];
		int err;

		lens[i] = build(p, &f);
		o.data_in = f.buf;
		o.data_size_in = f.len;
		o.data_out = out;
		o.data_size_out = sizeof(out);
		skel->bss->fq_clock_ns = pkt_time(fx, i);
		err = bpf_prog_test_run_opts(bpf_program__fd(prog), &o);
		if (p->out == O_RUNT) {
			if (err != -EINVAL)
				dif(df, "packet %d (%d bytes): BPF_PROG_RUN returned %d, want -EINVAL",
				    i, f.len, err);
			continue;
		}
		if (err == -EINVAL && hook == FQ_HOOK_EGRESS && tc_may_refuse(&f)) {
			refused[i] = 1;
			printf("# tc refused %s, packet %d (%d bytes): see tc_may_refuse()\n",
			       fx->name, i, f.len);
			continue;
		}
		if (err) {
			dif(df, "packet %d: BPF_PROG_RUN failed: %s", i, strerror(-err));
			continue;
		}
		if ((int)o.retval != pass)
			dif(df, "packet %d: verdict %u, want %d", i, o.retval, pass);
		/* a monitor neither drops nor rewrites */
		if (o.data_size_out != (uint32_t)f.len || memcmp(out, f.buf, f.len))
			dif(df, "packet %d: frame modified", i);
	}
	if (take_snap(after)) {
		dif(df, "reading maps failed: %s", strerror(errno));
		return;
	}
	model(fx, lens, refused, hook, &want);
	cmp_snap(df, &before, after, &want);
}

static int same_flows(const struct snap *x, const struct snap *t, struct diff *df)
{
	if (x->nflows != t->nflows) {
		dif(df, "xdp made %d flows, tc %d", x->nflows, t->nflows);
		return 0;
	}
	for (int i = 0; i < x->nflows; i++) {
		int found = 0;

		for (int j = 0; j < t->nflows; j++)
			if (!memcmp(&x->flows[i].k, &t->flows[j].k, sizeof(x->flows[i].k))) {
				found = 1;
				if (memcmp(&x->flows[i].v, &t->flows[j].v, sizeof(x->flows[i].v)))
					dif(df, "flow %d differs between xdp and tc", i);
			}
		if (!found)
			dif(df, "flow %d of xdp not made by tc", i);
	}
	return 1;
}

/* Runs a fixture on both hooks; prints one line.  *xdp_out gets the
 * flow table the XDP run left (for extra checks). */
static int run_fixture(const struct fixture *fx, struct snap *xdp_out)
{
	static struct snap x, t;
	struct diff dx = { 0 }, dt = { 0 }, ds = { 0 };

	run_hook(fx, FQ_HOOK_INGRESS, &dx, &x);
	run_hook(fx, FQ_HOOK_EGRESS, &dt, &t);
	same_flows(&x, &t, &ds);
	if (xdp_out)
		*xdp_out = x;
	if (!dx.n && !dt.n && !ds.n) {
		TL_OK(fx->name);
		return 1;
	}
	TL_FAIL(fx->name, "%s%s%s%s%s%s%s%s", dx.n ? "xdp: " : "", dx.msg,
		dx.n && (dt.n || ds.n) ? " | " : "", dt.n ? "tc: " : "", dt.msg,
		dt.n && ds.n ? " | " : "", ds.n ? "xdp vs tc: " : "", ds.msg);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Truncation at every header boundary                                    */

struct trunc_base {
	const char *name;
	struct pb pb;
};

static const struct trunc_base trunc_bases[] = {
	{ "vlan+ipv4 options+tcp options",
	  { VLAN1(7), V4(A4, B4), .v4_opt = 8, TCP(1000, 2000, ACK), .tcp_opt = 12, .payload = 10 } },
	{ "qinq+ipv6 hop+routing+frag+udp",
	  { .nvlan = 2, .tpid = { PB_TPID_8021AD, PB_TPID_8021Q }, .vid = { 1, 2 }, V6(A6, B6),
	    .next_ext = 3, .ext = { EXT(0, 8), EXT(43, 24), FRAG6(0, 1, 3) }, UDP(1000, 2000),
	    .payload = 10 } },
	{ "ipv4 icmp echo", { V4(A4, B4), ICMP(8, 0, 9), .payload = 8 } },
	{ "ipv4 udp", { V4(A4, B4), UDP(1, 2), .payload = 8 } },
	{ "ipv6 icmpv6 echo", { V6(A6, B6), ICMP6(128, 0, 9), .payload = 8 } },
	{ "ipv6 dstopts+tcp", { V6(A6, B6), .next_ext = 1, .ext = { EXT(60, 16) },
				TCP(1000, 2000, SYN), .tcp_opt = 8, .payload = 4 } },
};

/*
 * Cut each base frame at the start of every header after Ethernet, half way
 * into it, and where the payload starts (headers complete, payload missing):
 * each must be one parse error and nothing else, on both hooks.  A frame
 * whose IP length claims more than the frame holds is truncated as much as
 * one cut inside a header.
 */
static int run_truncations(void)
{
	int n = 0;

	for (size_t b = 0; b < sizeof(trunc_bases) / sizeof(trunc_bases[0]); b++) {
		struct pb_frame f;
		int cuts[2 * PB_MAX_MARKS + 1], ncut = 0;

		pb_build(&trunc_bases[b].pb, &f);
		if (!b)
			cuts[ncut++] = 13; /* one byte short of Ethernet */
		for (int m = 0; m < f.nmark; m++) {
			int c[2] = { f.mark[m].off, f.mark[m].off + f.mark[m].len / 2 };

			for (int j = 0; j < 2; j++) {
				int dup = 0;

				/* cuts inside Ethernet are runts (see O_RUNT);
				 * the first base covers them */
				if ((c[j] < 14 && b) || c[j] >= f.len)
					continue;
				for (int q = 0; q < ncut; q++)
					dup |= cuts[q] == c[j];
				if (!dup)
					cuts[ncut++] = c[j];
			}
		}
		for (int i = 0; i < ncut; i++) {
			struct fixture fx = { 0 };
			char name[160];
			const char *in = "?";
			int at = 0;

			for (int m = 0; m < f.nmark; m++)
				if (f.mark[m].off <= cuts[i]) {
					in = f.mark[m].name;
					at = cuts[i] - f.mark[m].off;
				}
			snprintf(name, sizeof(name), "truncated %s at %s+%d (%d bytes)",
				 trunc_bases[b].name, in, at, cuts[i]);
			fx.name = name;
			fx.np = 1;
			fx.p[0].pb = trunc_bases[b].pb;
			fx.p[0].trunc = cuts[i] ? cuts[i] : PB_ZERO;
			fx.p[0].out = cuts[i] < 14 ? O_RUNT : O_ERR;
			run_fixture(&fx, NULL);
			n++;
		}
	}
	return n;
}

/* ---------------------------------------------------------------------- */

/* The session fixture again, with its figures worked out by hand. */
static void check_session(const struct snap *s)
{
	const char *name = "tcp session: hand-computed IATs and FIN state";
	const struct fq_flow *f;
	int ok = 1;

	if (!TL_CHECK(name, s->nflows == 1, "%d flows", s->nflows))
		return;
	f = &s->flows[0].v;
	/* client sends at 0, 1.5, 2.5, 14, 20, 22 ms; server at 1, 12.5, 13, 21 */
	ok &= TL_EQ_U64(name, "fin_seen", f->fin_seen, 3);
	ok &= TL_EQ_U64(name, "initiator", f->initiator, 0);
	ok &= TL_EQ_U64(name, "c2s packets", f->dir[0].packets, 6);
	ok &= TL_EQ_U64(name, "s2c packets", f->dir[1].packets, 4);
	ok &= TL_EQ_U64(name, "c2s bytes", f->dir[0].bytes, 60 + 40 + 140 + 40 + 40 + 40);
	ok &= TL_EQ_U64(name, "s2c bytes", f->dir[1].bytes, 60 + 1040 + 540 + 40);
	ok &= TL_EQ_U64(name, "s2c payload", f->dir[1].payload, 1500);
	ok &= TL_EQ_U64(name, "c2s iat_sum", f->dir[0].iat_sum, 22 * MS);
	ok &= TL_EQ_U64(name, "c2s iat_min", f->dir[0].iat_min, 1 * MS);
	ok &= TL_EQ_U64(name, "c2s iat_max", f->dir[0].iat_max, 11500000);
	ok &= TL_EQ_U64(name, "s2c iat_sum", f->dir[1].iat_sum, 20 * MS);
	ok &= TL_EQ_U64(name, "s2c iat_min", f->dir[1].iat_min, 500000);
	ok &= TL_EQ_U64(name, "s2c iat_max", f->dir[1].iat_max, 11500000);
	ok &= TL_EQ_U64(name, "flow iat_sum", f->iat_sum, 22 * MS);
	ok &= TL_EQ_U64(name, "flow iat_min", f->iat_min, 500000);
	ok &= TL_EQ_U64(name, "flow iat_max", f->iat_max, 10 * MS);
	ok &= TL_EQ_U64(name, "first_ns", f->first_ns, T0 + 1);
	ok &= TL_EQ_U64(name, "last_ns", f->last_ns, T0 + 1 + 22 * MS);
	ok &= TL_EQ_U64(name, "c2s SYN", f->dir[0].flags[FQ_SYN], 1);
	ok &= TL_EQ_U64(name, "c2s ACK", f->dir[0].flags[FQ_ACK], 5);
	ok &= TL_EQ_U64(name, "s2c FIN", f->dir[1].flags[FQ_FIN], 1);
	/* IATs 1.5, 1, 11.5, 6, 2 ms -> log2(us) bins 10, 9, 13, 12, 10 */
	ok &= TL_EQ_U64(name, "c2s iat_hist[10]", f->dir[0].iat_hist[10], 2);
	ok &= TL_EQ_U64(name, "c2s iat_hist[13]", f->dir[0].iat_hist[13], 1);
	/* sizes 60, 40, 140, 40, 40, 40 -> bins 5, 5, 7, 5, 5, 5 */
	ok &= TL_EQ_U64(name, "c2s size_hist[5]", f->dir[0].size_hist[5], 5);
	ok &= TL_EQ_U64(name, "c2s size_hist[7]", f->dir[0].size_hist[7], 1);
	if (ok)
		TL_OK(name);
}

static int setup(int flows);

/* fq_flows loaded with room for 2 flows: the third flow is refused
 * (flow_full, untracked) while every other counter stays exact. */
static struct fixture full_table = {
	"full flow table (2 entries): third flow untracked, totals exact",
	{ { A4, B4, 1, 2, 17 }, { A4, B4, 3, 4, 17 }, { A4, B4, 5, 6, 17 } },
	{ { .pb = { V4(A4, B4), UDP(1, 2) }, FLOW(0, 28, 28) },
	  { .pb = { V4(A4, B4), UDP(3, 4), .payload = 2 }, .key = 1, FLOW(0, 30, 28) },
	  { .pb = { V4(A4, B4), UDP(5, 6), .payload = 4 }, .key = 2, FLOW(0, 32, 28) },
	  { .pb = { V4(B4, A4), UDP(6, 5), .payload = 6 }, .key = 2, FLOW(1, 34, 28) },
	  { .pb = { V4(B4, A4), UDP(2, 1), .payload = 8 }, FLOW(1, 36, 28) } },
	5,
};

static int run_full_table(void)
{
	int err = setup(2);

	if (err) {
		TL_FAIL(full_table.name, "loading with 2 flows: %s", strerror(-err));
		return 1;
	}
	/* packets 2 and 3 (ports 5/6) find no room: the model counts them
	 * as untracked because the table already holds two flows */
	run_fixture(&full_table, NULL);
	return 1;
}

/*
 * A TCP GSO packet on tc egress (skb gso_segs 3, gso_size 100, 250 bytes of
 * payload, PSH|ACK|FIN): with fq_gso_split it is accounted as the device's
 * three segments (100, 100, 50 bytes of payload; FIN and PSH on the last
 * only), without it as one packet, as a tap sees it when segmentation is
 * offloaded.  Interface totals follow.
 */
static int run_gso(void)
{
	static const char *name = "tc egress GSO packet: segments with fq_gso_split, whole without";
	struct fx_pkt p = { .pb = { V4(A4, B4), TCP(1000, 80, 0x19), .payload = 250 } };
	static struct snap before, after;
	struct __sk_buff ctx = { .gso_segs = 3, .gso_size = 100 };
	uint8_t out[PB_MAX + 64];
	struct pb_frame f;
	char why[256] = "";

	for (int split = 1; split >= 0; split--) {
		LIBBPF_OPTS(bpf_test_run_opts, o);
		const struct fq_dir_stats *d;
		uint32_t hdr = 20 + 20, segs = split ? 3 : 1;
		uint64_t ip = split ? 3 * hdr + 250 : hdr + 250;
		int err;

		clear_map(skel->maps.fq_flows);
		build(&p, &f);
		o.data_in = f.buf;
		o.data_size_in = f.len;
		o.data_out = out;
		o.data_size_out = sizeof(out);
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
		skel->bss->fq_gso_split = split;
		skel->bss->fq_clock_ns = 1000000000ULL;
		if (take_snap(&before))
			goto fail_errno;
		err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.fq_tc_egress), &o);
		if (err) {
			snprintf(why, sizeof(why), "split %d: BPF_PROG_RUN: %s", split, strerror(-err));
			goto fail;
		}
		if (take_snap(&after))
			goto fail_errno;
		if (after.nflows != 1) {
			snprintf(why, sizeof(why), "split %d: %d flows, want 1", split, after.nflows);
			goto fail;
		}
		d = &after.flows[0].v.dir[0];
		if (d->packets != segs || d->bytes != ip || d->payload != 250 ||
		    d->hdr_bytes != segs * hdr ||
		    d->size_min != (split ? hdr + 50 : hdr + 250) ||
		    d->size_max != (split ? hdr + 100 : hdr + 250) ||
		    d->flags[FQ_ACK] != segs || d->flags[FQ_FIN] != 1 || d->flags[FQ_PSH] != 1) {
			snprintf(why, sizeof(why),
				 "split %d: packets %llu bytes %llu payload %llu hdr %llu min %u max %u "
				 "ack %llu fin %llu psh %llu; want %u, %llu, 250, %u, ...", split,
				 (unsigned long long)d->packets, (unsigned long long)d->bytes,
				 (unsigned long long)d->payload, (unsigned long long)d->hdr_bytes,
				 d->size_min, d->size_max, (unsigned long long)d->flags[FQ_ACK],
				 (unsigned long long)d->flags[FQ_FIN], (unsigned long long)d->flags[FQ_PSH],
				 segs, (unsigned long long)ip, segs * hdr);
			goto fail;
		}
		if (after.t.packets[1] - before.t.packets[1] != segs ||
		    after.t.ip_bytes[1] - before.t.ip_bytes[1] != ip ||
		    after.t.bytes[1] - before.t.bytes[1] != ip + 14 * segs ||
		    after.proto[6].packets[1] - before.proto[6].packets[1] != segs ||
		    after.proto[6].bytes[1] - before.proto[6].bytes[1] != ip) {
			snprintf(why, sizeof(why), "split %d: totals tx %llu pkts %llu ip bytes %llu frame bytes,"
				 " want %u, %llu, %llu", split,
				 (unsigned long long)(after.t.packets[1] - before.t.packets[1]),
				 (unsigned long long)(after.t.ip_bytes[1] - before.t.ip_bytes[1]),
				 (unsigned long long)(after.t.bytes[1] - before.t.bytes[1]),
				 segs, (unsigned long long)ip, (unsigned long long)(ip + 14 * segs));
			goto fail;
		}
	}
	skel->bss->fq_gso_split = 0;
	TL_OK(name);
	return 1;
fail_errno:
	snprintf(why, sizeof(why), "reading maps: %s", strerror(errno));
fail:
	skel->bss->fq_gso_split = 0;
	TL_FAIL(name, "%s", why);
	return 1;
}

static int setup(int flows)
{
	struct bpf_map *m;
	int err;

	if (skel) {
		flowqoe__destroy(skel);
		skel = NULL;
	}
	max_flows = flows;

	skel = flowqoe__open();
	if (!skel)
		return -errno;
	/* never touch the pins of a running attach */
	bpf_object__for_each_map(m, skel->obj) {
		err = bpf_map__set_pin_path(m, NULL);
		if (err)
			return err;
	}
	bpf_map__set_max_entries(skel->maps.fq_flows, flows);
	skel->rodata->cfg_replay_clock = 1;
	err = flowqoe__load(skel);
	if (err)
		return err;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0)
		return -EINVAL;
	if (!pcpu_buf)
		pcpu_buf = calloc(ncpu, 512);
	return pcpu_buf ? 0 : -ENOMEM;
}

int main(void)
{
	static struct snap sess;
	int n = 0, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		TL_SKIP("progrun/datapath", "needs root for BPF_PROG_RUN");
		return 0;
	}
	err = setup(4096);
	if (err) {
		TL_FAIL("progrun/datapath setup", "loading flowqoe.bpf.o: %s", strerror(-err));
		return tl_exit();
	}
	for (size_t i = 0; i < NFIX; i++) {
		struct fixture *fx = &fixtures[i];

		for (fx->np = 0; fx->np < FX_MAXP; fx->np++)
			if (!fx->p[fx->np].pb.ipv && !fx->p[fx->np].pb.ethertype &&
			    !fx->p[fx->np].pb.nvlan)
				break;
		run_fixture(fx, strstr(fx->name, "tcp session") ? &sess : NULL);
		n++;
		if (strstr(fx->name, "tcp session"))
			check_session(&sess);
	}
	n += run_truncations();
	n += run_gso();
	n += run_full_table();
	printf("# %d fixtures (%zu table, %d truncations), %d passed, %d failed\n", n, NFIX,
	       n - (int)NFIX, tl_passed, tl_failed);
	flowqoe__destroy(skel);
	free(pcpu_buf);
	return tl_exit();
}
