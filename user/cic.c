// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cic.c - CICFlowMeter features from the datapath's per-flow state.
 *
 * Units follow CICFlowMeter: times in microseconds, lengths in payload
 * bytes (IP length minus IP and L4 headers), rates per second.  The
 * forward direction is the flow's first packet's.  Default mode computes
 * each feature as its name says; compat mode reproduces what
 * CICFlowMeter-V3 (the CIC-IDS2017 tool) printed, bugs included.  Each
 * difference is listed in docs/features.md.
 */
#include <math.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "common.h"
#include "cic.h"

struct col {
	const char *n17, *n18;
	const char *def;
};

/* Numeric columns, in CSV order (after Timestamp, before Label). */
static const struct col cols[FQ_CIC_NFEAT] = {
	{ " Flow Duration", "Flow Duration", "last packet time - first packet time, us" },
	{ " Total Fwd Packets", "Tot Fwd Pkts", "packets in the forward direction (that of the flow's first packet)" },
	{ " Total Backward Packets", "Tot Bwd Pkts", "packets in the backward direction" },
	{ "Total Length of Fwd Packets", "TotLen Fwd Pkts", "sum of forward payload bytes (IP length - IP header - L4 header)" },
	{ " Total Length of Bwd Packets", "TotLen Bwd Pkts", "sum of backward payload bytes" },
	{ " Fwd Packet Length Max", "Fwd Pkt Len Max", "largest forward payload, bytes" },
	{ " Fwd Packet Length Min", "Fwd Pkt Len Min", "smallest forward payload, bytes" },
	{ " Fwd Packet Length Mean", "Fwd Pkt Len Mean", "mean forward payload, bytes" },
	{ " Fwd Packet Length Std", "Fwd Pkt Len Std", "sample standard deviation (n-1) of forward payloads; 0 below 2 packets" },
	{ "Bwd Packet Length Max", "Bwd Pkt Len Max", "largest backward payload, bytes" },
	{ " Bwd Packet Length Min", "Bwd Pkt Len Min", "smallest backward payload, bytes" },
	{ " Bwd Packet Length Mean", "Bwd Pkt Len Mean", "mean backward payload, bytes" },
	{ " Bwd Packet Length Std", "Bwd Pkt Len Std", "sample standard deviation of backward payloads" },
	{ "Flow Bytes/s", "Flow Byts/s", "payload bytes (both directions) / duration in s; 0 if duration is 0" },
	{ " Flow Packets/s", "Flow Pkts/s", "packets / duration in s; 0 if duration is 0" },
	{ " Flow IAT Mean", "Flow IAT Mean", "mean gap between consecutive packets of the flow (either direction), us" },
	{ " Flow IAT Std", "Flow IAT Std", "sample standard deviation of those gaps, us" },
	{ " Flow IAT Max", "Flow IAT Max", "largest gap, us" },
	{ " Flow IAT Min", "Flow IAT Min", "smallest gap, us" },
	{ "Fwd IAT Total", "Fwd IAT Tot", "sum of gaps between consecutive forward packets, us (0 below 2 packets)" },
	{ " Fwd IAT Mean", "Fwd IAT Mean", "mean forward gap, us" },
	{ " Fwd IAT Std", "Fwd IAT Std", "sample standard deviation of forward gaps, us" },
	{ " Fwd IAT Max", "Fwd IAT Max", "largest forward gap, us" },
	{ " Fwd IAT Min", "Fwd IAT Min", "smallest forward gap, us" },
	{ "Bwd IAT Total", "Bwd IAT Tot", "sum of gaps between consecutive backward packets, us" },
	{ " Bwd IAT Mean", "Bwd IAT Mean", "mean backward gap, us" },
	{ " Bwd IAT Std", "Bwd IAT Std", "sample standard deviation of backward gaps, us" },
	{ " Bwd IAT Max", "Bwd IAT Max", "largest backward gap, us" },
	{ " Bwd IAT Min", "Bwd IAT Min", "smallest backward gap, us" },
	{ "Fwd PSH Flags", "Fwd PSH Flags", "forward packets with TCP PSH" },
	{ " Bwd PSH Flags", "Bwd PSH Flags", "backward packets with TCP PSH" },
	{ " Fwd URG Flags", "Fwd URG Flags", "forward packets with TCP URG" },
	{ " Bwd URG Flags", "Bwd URG Flags", "backward packets with TCP URG" },
	{ " Fwd Header Length", "Fwd Header Len", "sum of forward L4 header bytes (TCP data offset, UDP/ICMP 8)" },
	{ " Bwd Header Length", "Bwd Header Len", "sum of backward L4 header bytes" },
	{ "Fwd Packets/s", "Fwd Pkts/s", "forward packets / duration in s; 0 if duration is 0" },
	{ " Bwd Packets/s", "Bwd Pkts/s", "backward packets / duration in s" },
	{ " Min Packet Length", "Pkt Len Min", "smallest payload, either direction" },
	{ " Max Packet Length", "Pkt Len Max", "largest payload" },
	{ " Packet Length Mean", "Pkt Len Mean", "mean payload over all packets" },
	{ " Packet Length Std", "Pkt Len Std", "sample standard deviation of payloads" },
	{ " Packet Length Variance", "Pkt Len Var", "sample variance of payloads" },
	{ "FIN Flag Count", "FIN Flag Cnt", "packets with TCP FIN (both directions)" },
	{ " SYN Flag Count", "SYN Flag Cnt", "packets with TCP SYN" },
	{ " RST Flag Count", "RST Flag Cnt", "packets with TCP RST" },
	{ " PSH Flag Count", "PSH Flag Cnt", "packets with TCP PSH" },
	{ " ACK Flag Count", "ACK Flag Cnt", "packets with TCP ACK" },
	{ " URG Flag Count", "URG Flag Cnt", "packets with TCP URG" },
	{ " CWE Flag Count", "CWE Flag Count", "packets with TCP CWR (CICFlowMeter's name)" },
	{ " ECE Flag Count", "ECE Flag Cnt", "packets with TCP ECE" },
	{ " Down/Up Ratio", "Down/Up Ratio", "backward packets / forward packets" },
	{ " Average Packet Size", "Pkt Size Avg", "payload bytes / packets" },
	{ " Avg Fwd Segment Size", "Fwd Seg Size Avg", "forward payload bytes / forward packets" },
	{ " Avg Bwd Segment Size", "Bwd Seg Size Avg", "backward payload bytes / backward packets" },
	{ " Fwd Header Length.1", NULL, "same as Fwd Header Length (the CIC-IDS2017 CSVs carry it twice)" },
	{ "Fwd Avg Bytes/Bulk", "Fwd Byts/b Avg", "forward payload bytes in bulks / forward bulks (bulk: >= 4 data packets of one direction, gaps <= 1 s, no data packet of the other direction between)" },
	{ " Fwd Avg Packets/Bulk", "Fwd Pkts/b Avg", "forward packets in bulks / forward bulks" },
	{ " Fwd Avg Bulk Rate", "Fwd Blk Rate Avg", "forward bulk payload bytes / forward bulk duration in s" },
	{ " Bwd Avg Bytes/Bulk", "Bwd Byts/b Avg", "backward payload bytes in bulks / backward bulks" },
	{ " Bwd Avg Packets/Bulk", "Bwd Pkts/b Avg", "backward packets in bulks / backward bulks" },
	{ "Bwd Avg Bulk Rate", "Bwd Blk Rate Avg", "backward bulk payload bytes / backward bulk duration in s" },
	{ "Subflow Fwd Packets", "Subflow Fwd Pkts", "forward packets / subflows (a subflow ends at a gap > 1 s)" },
	{ " Subflow Fwd Bytes", "Subflow Fwd Byts", "forward payload bytes / subflows" },
	{ " Subflow Bwd Packets", "Subflow Bwd Pkts", "backward packets / subflows" },
	{ " Subflow Bwd Bytes", "Subflow Bwd Byts", "backward payload bytes / subflows" },
	{ "Init_Win_bytes_forward", "Init Fwd Win Byts", "TCP window field of the first forward packet (unscaled); -1 if not TCP" },
	{ " Init_Win_bytes_backward", "Init Bwd Win Byts", "TCP window field of the first backward packet; -1 if none" },
	{ " act_data_pkt_fwd", "Fwd Act Data Pkts", "forward packets with payload >= 1 byte" },
	{ " min_seg_size_forward", "Fwd Seg Size Min", "smallest forward L4 header, bytes" },
	{ "Active Mean", "Active Mean", "mean active period, us (active: packets with gaps <= activity timeout, 5 s)" },
	{ " Active Std", "Active Std", "sample standard deviation of active periods, us" },
	{ " Active Max", "Active Max", "longest active period, us" },
	{ " Active Min", "Active Min", "shortest active period, us" },
	{ "Idle Mean", "Idle Mean", "mean idle period (a gap > activity timeout), us" },
	{ " Idle Std", "Idle Std", "sample standard deviation of idle periods, us" },
	{ " Idle Max", "Idle Max", "longest idle period, us" },
	{ " Idle Min", "Idle Min", "shortest idle period, us" },
};

enum {
	C_DUR = 0, C_FPK, C_BPK, C_FLEN, C_BLEN, C_FMAX, C_FMIN, C_FMEAN, C_FSTD,
	C_BMAX, C_BMIN, C_BMEAN, C_BSTD, C_BPS, C_PPS, C_IATM, C_IATS, C_IATX, C_IATN,
	C_FIATT, C_FIATM, C_FIATS, C_FIATX, C_FIATN, C_BIATT, C_BIATM, C_BIATS, C_BIATX, C_BIATN,
	C_FPSH, C_BPSH, C_FURG, C_BURG, C_FHDR, C_BHDR, C_FPPS, C_BPPS,
	C_LMIN, C_LMAX, C_LMEAN, C_LSTD, C_LVAR,
	C_FIN, C_SYN, C_RST, C_PSH, C_ACK, C_URG, C_CWR, C_ECE,
	C_DOWNUP, C_AVGPKT, C_FSEG, C_BSEG, C_FHDR2,
	C_FBB, C_FPB, C_FBR, C_BBB, C_BPB, C_BBR,
	C_SFP, C_SFB, C_SBP, C_SBB, C_IWF, C_IWB, C_ACT, C_MINSEG,
	C_AMEAN, C_ASTD, C_AMAX, C_AMIN, C_IMEAN, C_ISTD, C_IMAX, C_IMIN,
	C_N
};
_Static_assert(C_N == FQ_CIC_NFEAT, "column table and enum differ");

const char *fq_cic_feat_name(int i, enum fq_cic_names names)
{
	if (i < 0 || i >= FQ_CIC_NFEAT)
		return NULL;
	return names == FQ_CIC_NAMES_2018 ? cols[i].n18 : cols[i].n17;
}

/* sample std from n, sum, sum of squares */
static double sstd(double n, double sum, double sq)
{
	double var;

	if (n < 2)
		return 0;
	var = (sq - sum * sum / n) / (n - 1);
	return var > 0 ? sqrt(var) : 0;
}

static double svar(double n, double sum, double sq)
{
	double s = sstd(n, sum, sq);

	return s * s;
}

/* IAT series of fq_flow / fq_dir_stats: sum/min/max in ns, sq in us^2 */
static void iat(double *out, uint64_t n, uint64_t sum, uint64_t sq, uint64_t min, uint64_t max,
		bool total)
{
	int k = 0;

	if (total)
		out[k++] = n ? sum / 1e3 : 0;
	out[k++] = n ? sum / 1e3 / n : 0;
	out[k++] = n ? sstd(n, sum / 1e3, sq) : 0;
	out[k++] = n ? (double)(max / 1000) : 0;
	out[k++] = n ? (double)(min / 1000) : 0;
}

static void series(double *out, const struct fq_cic_series *s)
{
	out[0] = s->n ? s->sum / 1e3 / s->n : 0;
	out[1] = s->n ? sstd(s->n, s->sum / 1e3, s->sq) : 0;
	out[2] = s->n ? (double)(s->max / 1000) : 0;
	out[3] = s->n ? (double)(s->min / 1000) : 0;
}

void fq_cic_features(const struct fq_flow_rec *r, const struct fq_cic *c, bool compat,
		     double v[FQ_CIC_NFEAT])
{
	const struct fq_flow *f = &r->val;
	int fi = f->initiator & 1, bi = !fi;
	const struct fq_dir_stats *fd = &f->dir[fi], *bd = &f->dir[bi];
	const struct fq_cic_dir *fc = &c->dir[fi], *bc = &c->dir[bi];
	double fp = fd->packets, bp = bd->packets, n = fp + bp;
	double fl = fc->pl_sum, bl = bc->pl_sum;
	uint64_t last = f->dir[0].last_ns > f->dir[1].last_ns ? f->dir[0].last_ns : f->dir[1].last_ns;
	uint64_t dur_ns = last > f->first_ns ? last - f->first_ns : 0;
	double dur = (double)(dur_ns / 1000); /* CIC: integer microseconds */
	double ds = dur / 1e6;
	double lsum, lsq, ln;
	bool tcp = r->key.proto == 6;

	memset(v, 0, sizeof(double) * FQ_CIC_NFEAT);
	v[C_DUR] = dur;
	v[C_FPK] = fp;
	v[C_BPK] = bp;
	v[C_FLEN] = fl;
	v[C_BLEN] = bl;
	if (fp) {
		v[C_FMAX] = fc->pl_max;
		v[C_FMIN] = fc->pl_min;
		v[C_FMEAN] = fl / fp;
		v[C_FSTD] = sstd(fp, fl, fc->pl_sq);
	}
	if (bp) {
		v[C_BMAX] = bc->pl_max;
		v[C_BMIN] = bc->pl_min;
		v[C_BMEAN] = bl / bp;
		v[C_BSTD] = sstd(bp, bl, bc->pl_sq);
	}
	if (ds > 0) {
		v[C_BPS] = (fl + bl) / ds;
		v[C_PPS] = n / ds;
		v[C_FPPS] = fp / ds;
		v[C_BPPS] = bp / ds;
	} else if (compat) {
		/* Java double division by a zero duration */
		v[C_BPS] = (fl + bl) > 0 ? INFINITY : NAN;
		v[C_PPS] = INFINITY;
	}
	iat(&v[C_IATM], n > 1 ? n - 1 : 0, f->iat_sum, f->iat_sq, f->iat_min, f->iat_max, false);
	iat(&v[C_FIATT], fp > 1 ? fp - 1 : 0, fd->iat_sum, fd->iat_sq, fd->iat_min, fd->iat_max, true);
	iat(&v[C_BIATT], bp > 1 ? bp - 1 : 0, bd->iat_sum, bd->iat_sq, bd->iat_min, bd->iat_max, true);
	v[C_FPSH] = fd->flags[FQ_PSH];
	v[C_BPSH] = bd->flags[FQ_PSH];
	v[C_FURG] = fd->flags[FQ_URG];
	v[C_BURG] = bd->flags[FQ_URG];
	v[C_FHDR] = v[C_FHDR2] = fc->l4hdr_sum;
	v[C_BHDR] = bc->l4hdr_sum;

	lsum = fl + bl;
	lsq = (double)fc->pl_sq + bc->pl_sq;
	ln = n;
	if (compat) {
		/* CICFlowMeter adds the first packet's payload to the flow's
		 * length statistics twice */
		lsum += c->first_payload;
		lsq += (double)c->first_payload * c->first_payload;
		ln += 1;
	}
	if (n) {
		uint32_t mn = fc->pl_min < bc->pl_min ? fc->pl_min : bc->pl_min;
		uint32_t mx = fc->pl_max > bc->pl_max ? fc->pl_max : bc->pl_max;

		v[C_LMIN] = mn;
		v[C_LMAX] = mx;
		v[C_LMEAN] = lsum / ln;
		v[C_LSTD] = sstd(ln, lsum, lsq);
		v[C_LVAR] = svar(ln, lsum, lsq);
	}
	v[C_FIN] = fd->flags[FQ_FIN] + bd->flags[FQ_FIN];
	v[C_SYN] = fd->flags[FQ_SYN] + bd->flags[FQ_SYN];
	v[C_RST] = fd->flags[FQ_RST] + bd->flags[FQ_RST];
	v[C_PSH] = fd->flags[FQ_PSH] + bd->flags[FQ_PSH];
	v[C_ACK] = fd->flags[FQ_ACK] + bd->flags[FQ_ACK];
	v[C_URG] = fd->flags[FQ_URG] + bd->flags[FQ_URG];
	v[C_CWR] = fd->flags[FQ_CWR] + bd->flags[FQ_CWR];
	v[C_ECE] = fd->flags[FQ_ECE] + bd->flags[FQ_ECE];
	if (fp)
		v[C_DOWNUP] = compat ? floor(bp / fp) : bp / fp;
	if (n)
		v[C_AVGPKT] = compat ? lsum / n : (fl + bl) / n;
	v[C_FSEG] = fp ? fl / fp : 0;
	v[C_BSEG] = bp ? bl / bp : 0;

	if (compat) {
		/* CICFlowMeter compares the packet's source with the flow's by
		 * reference, so every packet goes to the backward bulk with no
		 * forward bulk to break it; its dump prints the forward bytes
		 * per bulk in the backward column; averages are integers */
		const struct fq_cic_bulk *b = &c->bulk_all;

		if (b->states)
			v[C_BPB] = b->pkts / b->states;
		if (b->dur >= 1000)
			v[C_BBR] = floor(b->bytes / ((double)(b->dur / 1000) / 1e6));
	} else {
		const struct fq_cic_bulk *b = &fc->bulk;

		if (b->states) {
			v[C_FBB] = (double)b->bytes / b->states;
			v[C_FPB] = (double)b->pkts / b->states;
		}
		if (b->dur)
			v[C_FBR] = b->bytes / (b->dur / 1e9);
		b = &bc->bulk;
		if (b->states) {
			v[C_BBB] = (double)b->bytes / b->states;
			v[C_BPB] = (double)b->pkts / b->states;
		}
		if (b->dur)
			v[C_BBR] = b->bytes / (b->dur / 1e9);
	}

	if (compat) {
		/* an operator-precedence slip makes every packet start a
		 * subflow: the "per subflow" values are integer divisions by
		 * the packet count */
		if (n) {
			v[C_SFP] = floor(fp / n);
			v[C_SFB] = floor(fl / n);
			v[C_SBP] = floor(bp / n);
			v[C_SBB] = floor(bl / n);
		}
	} else {
		double sf = c->sf_gaps + 1.0;

		v[C_SFP] = fp / sf;
		v[C_SFB] = fl / sf;
		v[C_SBP] = bp / sf;
		v[C_SBB] = bl / sf;
	}

	if (tcp) {
		v[C_IWF] = fc->pkts ? fc->init_win : -1;
		/* CICFlowMeter overwrites the backward value with every
		 * backward packet: it is the last window, not the first */
		v[C_IWB] = bc->pkts ? (compat ? bc->last_win : bc->init_win) : -1;
	} else {
		v[C_IWF] = -1;
		v[C_IWB] = -1;
	}
	v[C_ACT] = fc->data_pkts;
	if (compat && c->first_payload && fc->pkts)
		v[C_ACT] -= 1; /* the first packet is not counted */
	v[C_MINSEG] = fc->pkts ? fc->l4hdr_min : 0;

	{
		struct fq_cic_series a = c->active;

		/* the active period still open when the flow ended */
		if (!compat && c->end_active > c->start_active) {
			uint64_t p = c->end_active - c->start_active, us = p / 1000;

			if (!a.n || p < a.min)
				a.min = p;
			if (p > a.max)
				a.max = p;
			a.n++;
			a.sum += p;
			a.sq += us * us;
		}
		series(&v[C_AMEAN], &a);
		series(&v[C_IMEAN], &c->idle);
	}
}

void fq_cic_flow_id(const struct fq_flow_rec *r, bool compat, char *buf, size_t len)
{
	const struct fq_flow_key *k = &r->key;
	const uint8_t *a = k->addr_lo, *b = k->addr_hi;
	uint16_t pa = k->port_lo, pb = k->port_hi;
	char sa[64], sb[64];

	if (compat) {
		/* CICFlowMeter orders the addresses by their bytes as Java's
		 * signed bytes (192 < 10), ports not at all: the flow's
		 * source first unless its address compares greater */
		struct fq_flow_view v;
		int off = k->family == 4 ? 12 : 0, swap = 0;

		fq_flow_view(r, &v);
		a = v.src;
		b = v.dst;
		pa = v.sport;
		pb = v.dport;
		for (int i = off; i < 16; i++) {
			if (a[i] != b[i]) {
				swap = (int8_t)a[i] > (int8_t)b[i];
				break;
			}
		}
		if (swap) {
			const uint8_t *t = a;
			uint16_t tp = pa;

			a = b;
			b = t;
			pa = pb;
			pb = tp;
		}
	}
	fq_addr_str(a, k->family, sa, sizeof(sa));
	fq_addr_str(b, k->family, sb, sizeof(sb));
	snprintf(buf, len, "%s-%s-%u-%u-%u", sa, sb, pa, pb, k->proto);
}

static void fmt_num(char *buf, size_t len, double x)
{
	if (isnan(x))
		snprintf(buf, len, "NaN");
	else if (isinf(x))
		snprintf(buf, len, x > 0 ? "Infinity" : "-Infinity");
	else if (x == floor(x) && fabs(x) < 1e15)
		snprintf(buf, len, "%.0f", x);
	else
		snprintf(buf, len, "%.17g", x);
}

/* The datapath's own per-direction counters (IP-layer sizes, ns), for
 * comparisons with tools that count differently (nDPI: frame bytes, ms). */
static json_t *raw_dir(const struct fq_dir_stats *d, const struct fq_cic_dir *c)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "packets", (json_int_t)d->packets, "ip_bytes", (json_int_t)d->bytes,
			 "pad_bytes", (json_int_t)c->pad_bytes, "size_min", (json_int_t)(d->packets ? d->size_min : 0),
			 "size_max", (json_int_t)d->size_max, "size_sq", (json_int_t)d->size_sq,
			 "first_ns", (json_int_t)d->first_ns, "last_ns", (json_int_t)d->last_ns,
			 "iat_sum_ns", (json_int_t)d->iat_sum, "iat_sq_us2", (json_int_t)d->iat_sq,
			 "iat_min_ns", (json_int_t)(d->packets > 1 ? d->iat_min : 0),
			 "iat_max_ns", (json_int_t)d->iat_max);
}

static json_t *raw_json(const struct fq_flow_rec *r, const struct fq_cic *c)
{
	int fi = r->val.initiator & 1;

	return json_pack("{s:o,s:o,s:i}", "fwd", raw_dir(&r->val.dir[fi], &c->dir[fi]),
			 "bwd", raw_dir(&r->val.dir[!fi], &c->dir[!fi]), "vlan", r->key.vlan);
}

static const char *id_cols17[] = { "Flow ID", " Source IP", " Source Port", " Destination IP",
				   " Destination Port", " Protocol", " Timestamp" };
static const char *id_cols18[] = { "Flow ID", "Src IP", "Src Port", "Dst IP", "Dst Port",
				   "Protocol", "Timestamp" };

void fq_cic_header(struct fq_cic_writer *w)
{
	const char **ids = w->names == FQ_CIC_NAMES_2018 ? id_cols18 : id_cols17;

	if (w->json)
		return;
	for (int i = 0; i < 7; i++)
		fprintf(w->f, "%s%s", i ? "," : "", ids[i]);
	for (int i = 0; i < FQ_CIC_NFEAT; i++) {
		const char *n = fq_cic_feat_name(i, w->names);

		if (n)
			fprintf(w->f, ",%s", n);
	}
	fprintf(w->f, ",%s\n", w->names == FQ_CIC_NAMES_2018 ? "Label" : " Label");
}

void fq_cic_row(struct fq_cic_writer *w, const struct fq_flow_rec *r, const struct fq_cic *c)
{
	double v[FQ_CIC_NFEAT];
	struct fq_flow_view fv;
	char id[160], sa[64], da[64], ts[64], num[64];
	time_t sec;
	struct tm tm;
	const char **ids = w->names == FQ_CIC_NAMES_2018 ? id_cols18 : id_cols17;
	const char *label = w->label ? w->label : "NeedManualLabel";

	fq_cic_features(r, c, w->compat, v);
	fq_flow_view(r, &fv);
	fq_cic_flow_id(r, w->compat, id, sizeof(id));
	fq_addr_str(fv.src, fv.family, sa, sizeof(sa));
	fq_addr_str(fv.dst, fv.family, da, sizeof(da));
	sec = (time_t)(((int64_t)r->val.first_ns + w->epoch_off) / 1000000000LL);
	localtime_r(&sec, &tm);
	/* CIC-IDS2017 printed a 12-hour clock without AM/PM (hh), 2018 24-hour */
	strftime(ts, sizeof(ts), w->compat && w->names == FQ_CIC_NAMES_2017 ?
		 "%d/%m/%Y %I:%M:%S" : "%d/%m/%Y %H:%M:%S", &tm);
	w->rows++;
	if (w->json) {
		json_t *o = json_object();

		/* JSON keys without the CSVs' leading blanks */
		json_object_set_new(o, ids[0], json_string(id));
		json_object_set_new(o, ids[1] + (*ids[1] == ' '), json_string(sa));
		json_object_set_new(o, ids[2] + (*ids[2] == ' '), json_integer(fv.sport));
		json_object_set_new(o, ids[3] + (*ids[3] == ' '), json_string(da));
		json_object_set_new(o, ids[4] + (*ids[4] == ' '), json_integer(fv.dport));
		json_object_set_new(o, ids[5] + (*ids[5] == ' '), json_integer(fv.proto));
		json_object_set_new(o, ids[6] + (*ids[6] == ' '), json_string(ts));
		for (int i = 0; i < FQ_CIC_NFEAT; i++) {
			const char *n = fq_cic_feat_name(i, w->names);

			if (!n)
				continue;
			while (*n == ' ')
				n++;
			json_object_set_new(o, n, isfinite(v[i]) ? json_real(v[i]) : json_null());
		}
		json_object_set_new(o, "Label", json_string(label));
		json_object_set_new(o, "flowqoe", raw_json(r, c));
		json_dumpf(o, w->f, JSON_COMPACT);
		fputc('\n', w->f);
		json_decref(o);
		return;
	}
	fprintf(w->f, "%s,%s,%u,%s,%u,%u,%s", id, sa, fv.sport, da, fv.dport, fv.proto, ts);
	for (int i = 0; i < FQ_CIC_NFEAT; i++) {
		if (!fq_cic_feat_name(i, w->names))
			continue;
		fmt_num(num, sizeof(num), v[i]);
		fprintf(w->f, ",%s", num);
	}
	fprintf(w->f, ",%s\n", label);
}

void fq_cic_explain(FILE *f)
{
	fprintf(f, "Flow ID: lower address-higher address-its port-the other port-protocol\n"
		   "Source IP/Port: the sender of the flow's first packet (forward direction)\n"
		   "Destination IP/Port: its peer; Protocol: IP protocol number\n"
		   "Timestamp: first packet time, local time, dd/mm/yyyy HH:MM:SS\n");
	for (int i = 0; i < FQ_CIC_NFEAT; i++) {
		const char *n = cols[i].n17;

		while (*n == ' ')
			n++;
		fprintf(f, "%s [%s]: %s\n", n, cols[i].n18 ? cols[i].n18 : "-", cols[i].def);
	}
	fprintf(f, "Label: --label TEXT (default NeedManualLabel)\n"
		   "\nFlows end at the flow timeout (--flow-timeout, 120 s after their first packet),\n"
		   "FIN both ways or RST (then 1 s for trailing packets), or the end of the file.\n"
		   "--cic-compat reproduces CICFlowMeter-V3's numbers; see docs/features.md.\n");
}
