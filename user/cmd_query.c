// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * query: ask a running attach (its HTTP API, see http.h) or a capture file
 * one of the window queries.
 *
 * Live: GET http://SERVER/api/v1/query (SERVER defaults to the attach's
 * default --listen, 127.0.0.1:9464); the answer names the interface and is
 * checked against IFACE.
 *
 * Capture (--pcap FILE): windows in capture time.  Every packet is parsed
 * here (Ethernet after link-type normalisation by replay.c, up to two VLAN
 * tags, IPv4/IPv6 with extension headers, TCP/UDP ports, ICMP type/code)
 * and fed as one delta at the second of its timestamp, with its IP-layer
 * length as the datapath counts it.  Non-first IPv4 fragments carry no
 * ports: they count for their hosts and as "<l4>/other".  The query is
 * evaluated at the capture's last second, or every S seconds (--every).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include "fq_pcap.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "common.h"
#include "cmds.h"
#include "http.h"
#include "query.h"
#include "replay.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flowqoe query IFACE --by proto|ip (--top K | --above-percent H | --above-sigma X)\n"
		"                     [--window T] [--server ADDR:PORT] [--json]\n"
		"       flowqoe query --pcap FILE --by proto|ip (--top K | --above-percent H | --above-sigma X)\n"
		"                     [--window T] [--every S] [--json]\n\n"
		"Keys with the most bytes over the last T seconds (1 s resolution):\n"
		"  --by proto   application protocol: L4 protocol + well-known port from the\n"
		"               services database (tcp/https, udp/domain, icmp, tcp/other ...)\n"
		"  --by ip      host address, bytes sent and received\n"
		"  --top K              the K keys with most bytes (ties: lower key first)\n"
		"  --above-percent H    keys with more than H %% of the interface's bytes\n"
		"  --above-sigma X      keys more than X population standard deviations above\n"
		"                       the mean of all keys (none when all are equal)\n"
		"  --window T           seconds (default: the attach's current T; 60 for --pcap)\n"
		"  --server ADDR:PORT   the attach's --listen (default " FQ_HTTP_DEFAULT_LISTEN ")\n"
		"  --pcap FILE          answer from a capture instead, windows in capture time\n"
		"  --every S            with --pcap: answer every S seconds of capture time\n"
		"  --json               the API's JSON object\n\n"
		"Live queries go to the HTTP API of `flowqoe attach IFACE` (it listens on\n"
		FQ_HTTP_DEFAULT_LISTEN " unless started with --listen); parameters of the\n"
		"standing queries change with PUT /api/v1/params.\n");
}

/* ---- a minimal HTTP/1.0 GET (the server side is libmicrohttpd) --------- */

static int http_get(const char *server, const char *path, int *status, char **body)
{
	char host[128], req[1024], *buf = NULL, *p;
	const char *colon = strrchr(server, ':');
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	size_t len = 0, cap = 0;
	int fd = -1, err;

	if (!colon || colon == server || (size_t)(colon - server) >= sizeof(host))
		return -EINVAL;
	memcpy(host, server, colon - server);
	host[colon - server] = 0;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	err = getaddrinfo(host, colon + 1, &hints, &ai);
	if (err)
		return -EHOSTUNREACH;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
		err = -errno;
		goto out;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", path, server);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		err = -EIO;
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			p = realloc(buf, cap);
			if (!p) {
				err = -ENOMEM;
				goto out;
			}
			buf = p;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += r;
	}
	buf[len] = 0;
	p = strstr(buf, "\r\n\r\n");
	if (!p || sscanf(buf, "HTTP/%*s %d", status) != 1) {
		err = -EPROTO;
		goto out;
	}
	*body = strdup(p + 4);
	err = *body ? 0 : -ENOMEM;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return err;
}

static void print_result(json_t *o, bool json)
{
	json_t *rows, *r;
	size_t i;

	if (json) {
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		return;
	}
	printf("%s by %s over %lld s: %lld bytes, %lld keys (mean %.0f, sigma %.0f)%s\n",
	       json_string_value(json_object_get(o, "query")), json_string_value(json_object_get(o, "by")),
	       json_integer_value(json_object_get(o, "window")),
	       json_integer_value(json_object_get(o, "total_bytes")),
	       json_integer_value(json_object_get(o, "keys")),
	       json_number_value(json_object_get(o, "mean_bytes")),
	       json_number_value(json_object_get(o, "sigma_bytes")),
	       json_is_false(json_object_get(o, "complete")) ? " INCOMPLETE (store caps hit)" : "");
	rows = json_object_get(o, "results");
	printf("%4s  %-40s %14s %10s %8s\n", "rank", "key", "bytes", "packets", "percent");
	json_array_foreach(rows, i, r)
		printf("%4zu  %-40s %14lld %10lld %7.2f%%\n", i + 1,
		       json_string_value(json_object_get(r, "key")),
		       json_integer_value(json_object_get(r, "bytes")),
		       json_integer_value(json_object_get(r, "packets")),
		       json_number_value(json_object_get(r, "percent")));
	fflush(stdout);
}

/* ---- capture path ---------------------------------------------------------- */

/* Flow key and IP length of an Ethernet frame; -1 if not IP. */
static int parse_frame(const uint8_t *p, size_t len, struct fq_flow_key *k, uint64_t *ip_len)
{
	size_t off = 14, l4;
	uint16_t et;
	uint8_t proto;
	bool first_frag = true;

	memset(k, 0, sizeof(*k));
	if (len < 14)
		return -1;
	et = p[12] << 8 | p[13];
	for (int v = 0; v < 2 && (et == 0x8100 || et == 0x88a8); v++) {
		if (len < off + 4)
			return -1;
		if (!k->vlan)
			k->vlan = (p[off] << 8 | p[off + 1]) & 0xfff;
		et = p[off + 2] << 8 | p[off + 3];
		off += 4;
	}
	if (et == 0x0800) {
		unsigned ihl;

		if (len < off + 20 || (p[off] >> 4) != 4)
			return -1;
		ihl = (p[off] & 15) * 4;
		if (ihl < 20)
			return -1;
		*ip_len = p[off + 2] << 8 | p[off + 3];
		proto = p[off + 9];
		first_frag = ((p[off + 6] << 8 | p[off + 7]) & 0x1fff) == 0;
		k->family = 4;
		k->addr_lo[10] = k->addr_lo[11] = 0xff;
		k->addr_hi[10] = k->addr_hi[11] = 0xff;
		memcpy(k->addr_lo + 12, p + off + 12, 4);
		memcpy(k->addr_hi + 12, p + off + 16, 4);
		l4 = off + ihl;
	} else if (et == 0x86dd) {
		if (len < off + 40 || (p[off] >> 4) != 6)
			return -1;
		*ip_len = (p[off + 4] << 8 | p[off + 5]) + 40;
		proto = p[off + 6];
		k->family = 6;
		memcpy(k->addr_lo, p + off + 8, 16);
		memcpy(k->addr_hi, p + off + 24, 16);
		l4 = off + 40;
		/* extension headers, bounded as the datapath bounds them */
		for (int i = 0; i < 8; i++) {
			if (proto == 0 || proto == 43 || proto == 60) {
				if (len < l4 + 2)
					break;
				proto = p[l4];
				l4 += (p[l4 + 1] + 1) * 8;
			} else if (proto == 44) {
				if (len < l4 + 8)
					break;
				first_frag = ((p[l4 + 2] << 8 | p[l4 + 3]) & 0xfff8) == 0;
				proto = p[l4];
				l4 += 8;
			} else {
				break;
			}
		}
	} else {
		return -1;
	}
	k->proto = proto;
	if (first_frag && (proto == 6 || proto == 17 || proto == 132) && len >= l4 + 4) {
		k->port_lo = p[l4] << 8 | p[l4 + 1];
		k->port_hi = p[l4 + 2] << 8 | p[l4 + 3];
	} else if (first_frag && (proto == 1 || proto == 58) && len >= l4 + 2) {
		k->port_lo = p[l4] << 8 | p[l4 + 1];
	}
	return 0;
}

static int eval_print(struct fq_query *q, enum fq_qby by, enum fq_qkind kind, double param,
		      bool json)
{
	struct fq_qresult r;
	json_t *o;
	int err = fq_qstore_eval(q->by[by], kind, param, 0, &r);

	if (err)
		return err;
	r.by = by;
	o = fq_qresult_json(&r, 0);
	print_result(o, json);
	json_decref(o);
	fq_qresult_free(&r);
	return 0;
}

static int query_pcap(const char *path, enum fq_qby by, enum fq_qkind kind, double param,
		      unsigned window, double every, bool json)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct fq_qparams p = FQ_QPARAMS_DEFAULT;
	struct pcap_pkthdr *h;
	const uint8_t *data;
	uint8_t *frame;
	struct fq_query *q;
	pcap_t *pc;
	int lt, r, rc = FQ_EXIT_FAIL;
	uint64_t next = 0, nonip = 0, n = 0;
	bool started = false;

	p.T = window;
	q = fq_query_new(window, &p, 1u << 24, 1u << 28);
	if (!q) {
		fq_err("query engine: %s", strerror(errno));
		return FQ_EXIT_FAIL;
	}
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fq_err("%s: %s", path, errbuf);
		fq_query_free(q);
		return FQ_EXIT_FAIL;
	}
	lt = pcap_datalink(pc);
	frame = malloc(FQ_REPLAY_MAX_FRAME);
	if (!frame || fq_replay_linktype_ok(lt)) {
		fq_err("%s: link type %d is not supported", path, lt);
		goto out;
	}
	while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
		enum fq_replay_skip why;
		struct fq_flow_key k;
		uint64_t ip_len, sec = h->ts.tv_sec;
		long fl = fq_replay_frame(lt, data, h->caplen, h->len, frame, &why);

		n++;
		if (every > 0) {
			if (!started) {
				next = sec + (uint64_t)every;
				started = true;
			}
			while (sec >= next) {
				fq_query_advance(q, next - 1);
				eval_print(q, by, kind, param, json);
				next += (uint64_t)every;
			}
		}
		if (fl < 0 || parse_frame(frame, fl, &k, &ip_len)) {
			nonip++;
			fq_query_advance(q, sec);
			continue;
		}
		fq_query_feed(q, sec, &k, ip_len, 1);
	}
	if (r == -1) {
		fq_err("%s: reading packet %llu: %s", path, (unsigned long long)n + 1, pcap_geterr(pc));
		goto out;
	}
	fq_dbg("%s: %llu packets, %llu not IP", path, (unsigned long long)n, (unsigned long long)nonip);
	if (eval_print(q, by, kind, param, json))
		goto out;
	rc = FQ_EXIT_OK;
out:
	free(frame);
	pcap_close(pc);
	fq_query_free(q);
	return rc;
}

int do_query(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 'k' },
		{ "above-percent", required_argument, NULL, 'H' },
		{ "above-sigma", required_argument, NULL, 'X' },
		{ "window", required_argument, NULL, 'T' },
		{ "server", required_argument, NULL, 's' },
		{ "pcap", required_argument, NULL, 'p' },
		{ "every", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = FQ_HTTP_DEFAULT_LISTEN, *pcap = NULL, *ifname = NULL;
	const char *kname[3] = { "above_percent", "top", "above_sigma" };
	bool json = fq_json, have_by = false;
	enum fq_qby by = FQ_BY_PROTO;
	int kind = -1, opt, status = 0, err;
	double param = 0, every = 0, v;
	uint64_t window = 0;
	char path[256], *body = NULL;
	json_t *o;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			if (fq_qby_parse(optarg, &by)) {
				fq_err("--by: '%s' is not proto or ip", optarg);
				return FQ_EXIT_USAGE;
			}
			have_by = true;
			break;
		case 'k': case 'H': case 'X':
			if (kind >= 0) {
				fq_err("give one of --top, --above-percent, --above-sigma");
				return FQ_EXIT_USAGE;
			}
			kind = opt == 'H' ? FQ_Q_PERCENT : opt == 'k' ? FQ_Q_TOP : FQ_Q_SIGMA;
			if (fq_parse_double(optarg, &param) || !isfinite(param) || param < 0 ||
			    (kind == FQ_Q_PERCENT && param > 100) ||
			    (kind == FQ_Q_TOP && (param != floor(param) || param > 1000000))) {
				fq_err("'%s' is not a valid %s", optarg,
				       kind == FQ_Q_PERCENT ? "percentage in [0, 100]" :
				       kind == FQ_Q_TOP ? "count" : "number of standard deviations");
				return FQ_EXIT_USAGE;
			}
			break;
		case 'T':
			if (fq_parse_u64(optarg, &window) || window < 1 || window > FQ_QUERY_SPAN_MAX) {
				fq_err("--window: '%s' is not a number of seconds in [1, %d]", optarg,
				       FQ_QUERY_SPAN_MAX);
				return FQ_EXIT_USAGE;
			}
			break;
		case 's': server = optarg; break;
		case 'p': pcap = optarg; break;
		case 'e':
			if (fq_parse_double(optarg, &v) || v < 1 || v > 1e6) {
				fq_err("--every: '%s' is not a number of seconds >= 1", optarg);
				return FQ_EXIT_USAGE;
			}
			every = v;
			break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return FQ_EXIT_OK;
		default: usage(stderr); return FQ_EXIT_USAGE;
		}
	}
	if (optind < argc)
		ifname = argv[optind++];
	if (optind < argc || !have_by || kind < 0 || (!ifname && !pcap) || (ifname && pcap)) {
		fq_err("query needs IFACE (or --pcap FILE), --by and one of --top, --above-percent, --above-sigma");
		usage(stderr);
		return FQ_EXIT_USAGE;
	}
	if (pcap)
		return query_pcap(pcap, by, kind, param, window ? window : 60, every, json);

	snprintf(path, sizeof(path), "/api/v1/query?by=%s&%s=%.17g", fq_qby_str(by), kname[kind], param);
	if (window)
		snprintf(path + strlen(path), sizeof(path) - strlen(path), "&window=%llu",
			 (unsigned long long)window);
	err = http_get(server, path, &status, &body);
	if (err) {
		fq_err("%s: cannot reach the attach's API at %s (%s); is `flowqoe attach %s` running "
		       "(with --listen %s)?", ifname, server, strerror(-err), ifname, server);
		return FQ_EXIT_FAIL;
	}
	o = json_loads(body, 0, NULL);
	free(body);
	if (!o) {
		fq_err("%s: the server at %s did not answer JSON (HTTP %d)", ifname, server, status);
		return FQ_EXIT_FAIL;
	}
	if (status != 200) {
		fq_err("%s: %s", ifname, json_string_value(json_object_get(o, "error")) ?: "request failed");
		json_decref(o);
		return status < 500 ? FQ_EXIT_USAGE : FQ_EXIT_FAIL;
	}
	if (!json_is_string(json_object_get(o, "iface")) ||
	    strcmp(json_string_value(json_object_get(o, "iface")), ifname)) {
		fq_err("%s: the attach at %s monitors '%s', not %s; pass its --listen with --server", ifname,
		       server, json_string_value(json_object_get(o, "iface")) ?: "?", ifname);
		json_decref(o);
		return FQ_EXIT_FAIL;
	}
	print_result(o, json);
	json_decref(o);
	return FQ_EXIT_OK;
}
