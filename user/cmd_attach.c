// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * attach, detach, status, flows: owning the datapath on an interface.
 *
 * attach loads build/flowqoe.bpf.o (embedded skeleton), pins its maps under
 * /sys/fs/bpf/flowqoe/IFACE/, attaches XDP on ingress and tc on egress,
 * then polls the flow table, expires flows and prints.  Everything it adds
 * is recorded in /run/flowqoe/IFACE.state so that `flowqoe detach` can undo
 * exactly that after a crash or SIGKILL.
 */
#include <errno.h>
#include <getopt.h>
#include <dirent.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "cmds.h"
#include "flowtab.h"
#include "attach.h"
#include "flowqoe.skel.h"
#include "shaper.h"

/* tc filter identity: distinctive so detach never touches a user's filter */
#define FQ_TC_HANDLE 0xf10e
#define FQ_TC_PRIO 0xf10e

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

const char *fq_mode_str(enum fq_mode m)
{
	switch (m) {
	case FQ_MODE_AUTO: return "auto";
	case FQ_MODE_NATIVE: return "native";
	case FQ_MODE_SKB: return "skb";
	case FQ_MODE_TC: return "tc";
	}
	return "?";
}

int fq_mode_parse(const char *s, enum fq_mode *m)
{
	static const char *names[] = { "auto", "native", "skb", "tc" };

	for (int i = 0; i < 4; i++)
		if (!strcmp(s, names[i])) {
			*m = i;
			return 0;
		}
	return -EINVAL;
}

/* Kernel driver name of an interface (ethtool), "" if unknown. */
static void if_driver(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd;

	buf[0] = 0;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0)
		snprintf(buf, len, "%s", info.driver);
	close(fd);
}

/*
 * Whether IFNAME segments GSO packets in software, after tc egress and
 * before the taps (ethtool tso or gso off): then fq_tc_egress accounts
 * the segments (bpf/flowqoe.bpf.c, fq_gso_split).  Unknown: false.
 */
static bool if_gso_in_software(const char *ifname)
{
	__u32 cmds[] = { ETHTOOL_GTSO, ETHTOOL_GGSO };
	bool sw = false;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return false;
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct ethtool_value v = { .cmd = cmds[i] };
		struct ifreq ifr = {};

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (void *)&v;
		if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && !v.data)
			sw = true;
	}
	close(fd);
	return sw;
}

/*
 * Drivers where XDP costs more than it gives a monitor: on veth a native
 * XDP program turns off GSO/GRO, so TCP falls from ~15 to ~3-4 Gbit/s
 * (FACTS.md); tun and virtual bridges likewise.  Generic XDP keeps the GSO
 * super-packets but must copy each one that is not linear with XDP
 * headroom (every TCP one on veth): `make bench` measured TCP over veth at
 * 81-83% of no program with generic XDP, 98-109% with tc.  So auto puts
 * both directions on tc there.
 */
static bool xdp_hurts(const char *drv)
{
	static const char *list[] = { "veth", "tun", "bridge", "dummy", "macvlan", "ipvlan", NULL };

	for (int i = 0; list[i]; i++)
		if (!strcmp(drv, list[i]))
			return true;
	return false;
}

/*
 * bpftool and libbpf pin under /sys/fs/bpf; `ip netns exec` remounts /sys
 * without it.  Mount one if missing, as bpftool does.
 */
int fq_bpffs_ensure(void)
{
	struct statfs sf;

	if (statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == 0xcafe4a11 /* BPF_FS_MAGIC */)
		return 0;
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
		return -errno;
	fq_warn("mounted a bpf filesystem on /sys/fs/bpf (it was missing: `ip netns exec`?);"
		" other processes may not see its pins");
	return 0;
}

/* ---- state file ------------------------------------------------------- */

/*
 * Pins and state files are keyed by interface name, but interfaces live in
 * network namespaces: the state records the attach's namespace (its nsfs
 * inode) so that a detach run from another one neither misses the hooks
 * nor deletes the record of them (see do_detach).
 */
static unsigned long netns_ino(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? 0 : (unsigned long)sb.st_ino;
}

static unsigned long state_netns(const char *ifname)
{
	char path[256], line[128];
	unsigned long ino = 0;
	FILE *f;

	fq_state_path(path, sizeof(path), ifname);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "netns=%lu", &ino);
	fclose(f);
	return ino;
}

/* Does network namespace `ino` still exist?  `where` gets a path to it:
 * /run/netns/NAME, else a process's.  Gone means its virtual interfaces
 * went with it, and the hooks on them. */
static bool netns_alive(unsigned long ino, char *where, size_t len)
{
	const char *dirs[] = { "/run/netns", "/proc" };
	char path[512];
	struct dirent *de;
	bool found = false;

	for (int i = 0; i < 2 && !found; i++) {
		DIR *d = opendir(dirs[i]);

		while (d && !found && (de = readdir(d))) {
			if (de->d_name[0] == '.' || (i == 1 && (de->d_name[0] < '0' || de->d_name[0] > '9')))
				continue;
			snprintf(path, sizeof(path), i ? "/proc/%s/ns/net" : "/run/netns/%s", de->d_name);
			if (netns_ino(path) == ino) {
				found = true;
				snprintf(where, len, "%s", path);
			}
		}
		if (d)
			closedir(d);
	}
	return found;
}

int fq_state_write(const char *ifname, const struct fq_state *st)
{
	char path[256];
	FILE *f;

	mkdir(FQ_RUN_DIR, 0755);
	fq_state_path(path, sizeof(path), ifname);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "pid=%d\nmode=%s\nxdp_flags=%u\nxdp_prog_id=%u\ntc_egress=%d\ntc_ingress=%d\n"
		   "clsact_created=%d\nmax_flows=%u\nnetns=%lu\n",
		st->pid, fq_mode_str(st->mode), st->xdp_flags, st->xdp_prog_id, st->tc_egress,
		st->tc_ingress, st->clsact_created, st->max_flows, netns_ino("/proc/self/ns/net"));
	fclose(f);
	return 0;
}

int fq_state_read(const char *ifname, struct fq_state *st)
{
	char path[256], line[128], mode[16] = "";
	FILE *f;

	memset(st, 0, sizeof(*st));
	fq_state_path(path, sizeof(path), ifname);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "pid=%d", &st->pid);
		sscanf(line, "mode=%15s", mode);
		sscanf(line, "xdp_flags=%u", &st->xdp_flags);
		sscanf(line, "xdp_prog_id=%u", &st->xdp_prog_id);
		sscanf(line, "tc_egress=%d", &st->tc_egress);
		sscanf(line, "tc_ingress=%d", &st->tc_ingress);
		sscanf(line, "clsact_created=%d", &st->clsact_created);
		sscanf(line, "max_flows=%u", &st->max_flows);
	}
	fclose(f);
	fq_mode_parse(mode, &st->mode);
	return 0;
}

static bool pid_alive(int pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* ---- attach / detach primitives -------------------------------------- */

static int tc_attach(int ifindex, int prog_fd, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FQ_TC_HANDLE, .priority = FQ_TC_PRIO,
		    .prog_fd = prog_fd);

	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach(int ifindex, enum bpf_tc_attach_point where)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = where);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = FQ_TC_HANDLE, .priority = FQ_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

/* Create clsact if missing; *created tells whether we did. */
static int clsact_ensure(int ifindex, int *created)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	int err = bpf_tc_hook_create(&hook);

	*created = 0;
	if (err == 0) {
		*created = 1;
		return 0;
	}
	return err == -EEXIST ? 0 : err;
}

static void clsact_destroy(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	bpf_tc_hook_destroy(&hook);
}

static int xdp_attach(int ifindex, int prog_fd, __u32 mode_flag)
{
	LIBBPF_OPTS(bpf_xdp_attach_opts, opts);

	fq_libbpf_clear_warning();
	return bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_UPDATE_IF_NOEXIST | mode_flag, &opts);
}

/* Name of a loaded program by id ("" if gone). */
static void prog_name(__u32 id, char *buf, size_t len)
{
	struct bpf_prog_info info = {};
	__u32 ilen = sizeof(info);
	int fd;

	buf[0] = 0;
	if (!id)
		return;
	fd = bpf_prog_get_fd_by_id(id);
	if (fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0)
		snprintf(buf, len, "%s", info.name);
	close(fd);
}

/* Remove our XDP program (only if the attached one is ours). */
static int xdp_detach_ours(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	__u32 ids[3], flags[3] = { XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE, XDP_FLAGS_HW_MODE };
	char name[32];
	int removed = 0;

	if (bpf_xdp_query(ifindex, 0, &q))
		return 0;
	ids[0] = q.drv_prog_id;
	ids[1] = q.skb_prog_id;
	ids[2] = q.hw_prog_id;
	for (int i = 0; i < 3; i++) {
		prog_name(ids[i], name, sizeof(name));
		if (ids[i] && !strcmp(name, "fq_xdp")) {
			LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = -1);
			int fd = bpf_prog_get_fd_by_id(ids[i]);

			if (fd >= 0) {
				o.old_prog_fd = fd;
				if (bpf_xdp_detach(ifindex, flags[i] | XDP_FLAGS_REPLACE, &o) == 0)
					removed++;
				close(fd);
			}
		}
	}
	return removed;
}

/* Unpin everything under the interface's pin folder, then remove it. */
static int unpin_all(const char *ifname)
{
	char dir[256], path[512];
	struct dirent *de;
	DIR *d;
	int n = 0;

	fq_pin_dir(dir, sizeof(dir), ifname);
	d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	rmdir(dir);
	rmdir(FQ_PIN_ROOT); /* only succeeds once the last interface is gone */
	return n;
}

/* Undo what the state says we did on ifname; used by attach's exit path and
 * by `flowqoe detach`.  Returns the number of objects removed. */
static int teardown(const char *ifname, const struct fq_state *st, bool verbose)
{
	int ifindex = if_nametoindex(ifname);
	char path[256];
	int n = 0;

	if (ifindex) {
		n += xdp_detach_ours(ifindex);
		if (tc_detach(ifindex, BPF_TC_EGRESS) == 0)
			n++;
		if (tc_detach(ifindex, BPF_TC_INGRESS) == 0)
			n++;
		if (st && st->clsact_created) {
			clsact_destroy(ifindex);
			n++;
		}
	}
	n += unpin_all(ifname);
	fq_state_path(path, sizeof(path), ifname);
	if (unlink(path) == 0)
		n++;
	if (verbose)
		fq_info("%s: removed %d objects", ifname, n);
	return n;
}

/* ---- attach ------------------------------------------------------------ */

/* Hooks for other features (queries, classifiers, CSV) to join the loop. */
static struct fq_attach_hook *hooks;

static void attach_usage(FILE *f)
{
	fprintf(f,
		"usage: flowqoe attach IFACE [--mode auto|native|skb|tc] [--interval SECONDS]\n"
		"                      [--max-flows N] [--idle-timeout S] [--active-timeout S]\n"
		"                      [--fin-timeout S] [--top N] [--duration S] [--json]\n\n"
		"Attach the datapath to IFACE and run in the foreground until SIGINT/SIGTERM,\n"
		"which detach everything.  XDP counts ingress, tc (clsact) counts egress.\n\n"
		"  --mode M           auto (default): native XDP on devices whose driver has it,\n"
		"                     tc on both directions on veth/tun and other virtual devices\n"
		"                     (XDP there costs TCP GSO or a copy per packet); each\n"
		"                     fallback native -> skb -> tc is logged with the kernel's reason.\n"
		"                     skb: generic XDP.  native: driver XDP, no fallback.\n"
		"                     tc: tc on both ingress and egress, no XDP.\n"
		"  --interval S       print the flow table every S seconds (default 1)\n"
		"  --max-flows N      flow table size (default %d); flows beyond it are counted\n"
		"                     as untracked, interface totals stay exact\n"
		"  --idle-timeout S   end a flow after S s without packets (default 15)\n"
		"  --active-timeout S end a flow S s after its first packet (default 1800)\n"
		"  --fin-timeout S    end a TCP flow S s after FIN both ways or RST (default 1)\n"
		"  --top N            rows of the terminal table (default 20)\n"
		"  --duration S       detach and exit after S seconds (default: run until signalled)\n"
		"  --json             JSON lines: {\"type\":\"flows\",...} per interval and\n"
		"                     {\"type\":\"flow_end\",...} once per expired flow\n\n"
		"Maps are pinned under " FQ_PIN_ROOT "/IFACE/ (fq_flows, fq_totals, ...);\n"
		"`bpftool map dump pinned " FQ_PIN_ROOT "/IFACE/fq_flows` prints them.\n",
		FQ_DEFAULT_MAX_FLOWS);
	for (struct fq_attach_hook *h = hooks; h; h = h->next)
		if (h->usage)
			fprintf(f, "\n%s", h->usage);
}

struct totals_sum {
	struct fq_totals t;
};

int fq_totals_read(int fd, struct fq_totals *out)
{
	int ncpu = libbpf_num_possible_cpus();
	struct fq_totals *v;
	__u32 k = 0;

	memset(out, 0, sizeof(*out));
	if (ncpu <= 0)
		return -EINVAL;
	v = calloc(ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &k, v)) {
		free(v);
		return -errno;
	}
	for (int c = 0; c < ncpu; c++) {
		__u64 *dst = (__u64 *)out, *src = (__u64 *)&v[c];

		for (size_t i = 0; i < sizeof(*out) / sizeof(__u64); i++)
			dst[i] += src[i];
	}
	free(v);
	return 0;
}

json_t *fq_totals_json(const struct fq_totals *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "rx_packets", json_integer(t->packets[FQ_HOOK_INGRESS]));
	json_object_set_new(o, "tx_packets", json_integer(t->packets[FQ_HOOK_EGRESS]));
	json_object_set_new(o, "rx_bytes", json_integer(t->bytes[FQ_HOOK_INGRESS]));
	json_object_set_new(o, "tx_bytes", json_integer(t->bytes[FQ_HOOK_EGRESS]));
	json_object_set_new(o, "rx_ip_bytes", json_integer(t->ip_bytes[FQ_HOOK_INGRESS]));
	json_object_set_new(o, "tx_ip_bytes", json_integer(t->ip_bytes[FQ_HOOK_EGRESS]));
	json_object_set_new(o, "ipv4", json_integer(t->ipv4));
	json_object_set_new(o, "ipv6", json_integer(t->ipv6));
	json_object_set_new(o, "non_ip", json_integer(t->non_ip));
	json_object_set_new(o, "parse_errors", json_integer(t->parse_errors));
	json_object_set_new(o, "frag_first", json_integer(t->frag_first));
	json_object_set_new(o, "frag_later", json_integer(t->frag_later));
	json_object_set_new(o, "frag_orphan", json_integer(t->frag_orphan));
	json_object_set_new(o, "new_flows", json_integer(t->new_flows));
	json_object_set_new(o, "flow_table_full", json_integer(t->flow_full));
	json_object_set_new(o, "untracked_packets", json_integer(t->untracked));
	return o;
}

/* A flow and its byte count, for ranking without moving the flows. */
struct by_bytes {
	uint64_t bytes;
	uint32_t i;
};

/* a before b: more bytes first, then table order (a stable ranking) */
static bool ranks_before(const struct by_bytes *a, const struct by_bytes *b)
{
	return a->bytes != b->bytes ? a->bytes > b->bytes : a->i < b->i;
}

static int cmp_by_bytes(const void *a, const void *b)
{
	return ranks_before(a, b) ? -1 : ranks_before(b, a) ? 1 : 0;
}

/* keep h[0] the last of the heap's k entries (the one to replace) */
static void sift_down(struct by_bytes *h, size_t k, size_t j)
{
	for (;;) {
		size_t l = 2 * j + 1, m = j;
		struct by_bytes t;

		if (l < k && ranks_before(&h[m], &h[l]))
			m = l;
		if (l + 1 < k && ranks_before(&h[m], &h[l + 1]))
			m = l + 1;
		if (m == j)
			return;
		t = h[j];
		h[j] = h[m];
		h[m] = t;
		j = m;
	}
}

/*
 * The top k of n flows by bytes, in order, into r (k entries): a heap of
 * the best k so far, O(n log k), since the terminal shows a few dozen of
 * possibly a million flows.  idx: the flows to rank (NULL: all n).
 */
static size_t top_by_bytes(const struct fq_flowtab *tab, const uint32_t *idx, long n, long k,
			   struct by_bytes *r)
{
	size_t m = 0;

	if (k > n)
		k = n;
	if (k <= 0)
		return 0;
	for (long j = 0; j < n; j++) {
		uint32_t i = idx ? idx[j] : (uint32_t)j;
		const struct fq_flow *f = &tab->vals[i];
		struct by_bytes e = { f->dir[0].bytes + f->dir[1].bytes, i };

		if (m < (size_t)k) {
			r[m++] = e;
			if (m == (size_t)k)
				for (size_t p = k / 2; p-- > 0;)
					sift_down(r, k, p);
		} else if (ranks_before(&e, &r[0])) {
			r[0] = e;
			sift_down(r, k, 0);
		}
	}
	qsort(r, m, sizeof(*r), cmp_by_bytes);
	return m;
}

static const char *proto_name(int p, char *buf, size_t len)
{
	switch (p) {
	case 6: return "tcp";
	case 17: return "udp";
	case 1: return "icmp";
	case 58: return "icmp6";
	}
	snprintf(buf, len, "%d", p);
	return buf;
}

void fq_print_flow_table(FILE *out, const struct fq_flowtab *tab, const uint32_t *idx, long n,
			 int top, const struct fq_totals *t, const char *ifname)
{
	char a[64], b[64], pb[8];
	struct by_bytes *r = NULL;
	size_t m = 0;

	if (top > 0 && n > 0) {
		r = malloc((size_t)(top < n ? top : n) * sizeof(*r));
		if (r)
			m = top_by_bytes(tab, idx, n, top, r);
	}
	fprintf(out, "\n%s: %ld flows, rx %llu pkts, tx %llu pkts, parse errors %llu, untracked %llu\n",
		ifname, n, (unsigned long long)t->packets[0], (unsigned long long)t->packets[1],
		(unsigned long long)t->parse_errors, (unsigned long long)t->untracked);
	fprintf(out, "%-5s %-39s %-39s %10s %10s %12s %12s\n", "proto", "source", "destination",
		"fwd_pkts", "bwd_pkts", "fwd_bytes", "bwd_bytes");
	for (size_t j = 0; j < m; j++) {
		struct fq_flow_view v;
		char s[80], d[80];

		fq_flow_view_kv(&tab->keys[r[j].i], &tab->vals[r[j].i], &v);
		fq_addr_str(v.src, v.family, a, sizeof(a));
		fq_addr_str(v.dst, v.family, b, sizeof(b));
		snprintf(s, sizeof(s), v.family == 6 ? "[%s]:%u" : "%s:%u", a, v.sport);
		snprintf(d, sizeof(d), v.family == 6 ? "[%s]:%u" : "%s:%u", b, v.dport);
		fprintf(out, "%-5s %-39s %-39s %10llu %10llu %12llu %12llu\n",
			proto_name(v.proto, pb, sizeof(pb)), s, d,
			(unsigned long long)v.fwd->packets, (unsigned long long)v.bwd->packets,
			(unsigned long long)v.fwd->bytes, (unsigned long long)v.bwd->bytes);
	}
	free(r);
	fflush(out);
}

static void emit_end(const struct fq_flow_rec *r, enum fq_end_reason why, int64_t off,
		     const char *ifname, bool json)
{
	if (json) {
		json_t *o = fq_flow_json(r, off, true);

		json_object_set_new(o, "type", json_string("flow_end"));
		json_object_set_new(o, "iface", json_string(ifname));
		json_object_set_new(o, "end_reason", json_string(fq_end_reason_str(why)));
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
	} else if (why != FQ_END_EXIT) {
		struct fq_flow_view v;
		char a[64], b[64];

		fq_flow_view(r, &v);
		fq_addr_str(v.src, v.family, a, sizeof(a));
		fq_addr_str(v.dst, v.family, b, sizeof(b));
		printf("flow end (%s): proto %d %s:%u -> %s:%u  fwd %llu pkts %llu B  bwd %llu pkts %llu B\n",
		       fq_end_reason_str(why), v.proto, a, v.sport, b, v.dport,
		       (unsigned long long)v.fwd->packets, (unsigned long long)v.fwd->bytes,
		       (unsigned long long)v.bwd->packets, (unsigned long long)v.bwd->bytes);
	}
}

/*
 * One poll: read the table, end expired flows (lookup_and_delete returns
 * the final value atomically, so no packet counted between read and delete
 * is lost), print.  `all` ends every flow (exit path).
 */
/* The poll's reader and scratch, kept from one interval to the next. */
static struct fq_flowtab poll_tab;
static uint32_t *poll_live;          /* indices of the flows that stay */
static struct fq_flow_rec *poll_recs; /* for on_poll, which takes records */
static size_t poll_live_cap, poll_recs_cap;

static void *reserve(void *p, size_t *cap, size_t n, size_t size)
{
	void *q;

	if (n <= *cap)
		return p;
	q = realloc(p, n * size);
	if (q)
		*cap = n;
	return q;
}

static void poll_free(void)
{
	fq_flowtab_free(&poll_tab);
	free(poll_live);
	free(poll_recs);
	poll_live = NULL;
	poll_recs = NULL;
	poll_live_cap = poll_recs_cap = 0;
}

static int poll_once(struct fq_attach_ctx *ac, bool all)
{
	struct fq_flowtab *tab = &poll_tab;
	struct fq_totals t;
	uint64_t now = fq_now_mono_ns();
	long n, kept = 0;
	uint32_t *live;

	/* ethtool -K may change it at any time: follow within an interval */
	if (ac->skel && ac->skel->bss)
		ac->skel->bss->fq_gso_split = if_gso_in_software(ac->ifname);
	n = tab->keys && tab->fd == ac->flows_fd ? 0 : fq_flowtab_open(tab, ac->flows_fd);
	if (n == 0)
		n = fq_flowtab_read(tab);
	if (n < 0) {
		fq_err("%s: reading the flow table: %s", ac->ifname, strerror((int)-n));
		return (int)n;
	}
	live = reserve(poll_live, &poll_live_cap, n ? n : 1, sizeof(*live));
	if (!live) {
		fq_err("%s: reading the flow table: %s", ac->ifname, strerror(ENOMEM));
		return -ENOMEM;
	}
	poll_live = live;
	for (long i = 0; i < n; i++) {
		enum fq_end_reason why = all ? FQ_END_EXIT : fq_flow_expired(&tab->vals[i], now, &ac->expiry);

		if (why != FQ_END_NONE) {
			struct fq_flow_rec fin = { .key = tab->keys[i] };

			if (bpf_map_lookup_and_delete_elem(ac->flows_fd, &fin.key, &fin.val) == 0) {
				ac->ended++;
				emit_end(&fin, why, ac->epoch_off, ac->ifname, ac->json);
				if (ac->on_end)
					ac->on_end(ac, &fin, why);
			}
			continue;
		}
		live[kept++] = i;
	}
	fq_totals_read(ac->totals_fd, &t);
	if (ac->on_poll) {
		struct fq_flow_rec *recs = reserve(poll_recs, &poll_recs_cap, kept ? kept : 1,
						   sizeof(*recs));

		if (recs) {
			poll_recs = recs;
			for (long j = 0; j < kept; j++) {
				recs[j].key = tab->keys[live[j]];
				recs[j].val = tab->vals[live[j]];
			}
			ac->on_poll(ac, recs, kept, &t);
		} else {
			fq_warn("%s: no memory for this interval's flow records", ac->ifname);
		}
	}
	if (!all && !ac->quiet) {
		if (ac->json) {
			json_t *o = json_object(), *arr = json_array();

			json_object_set_new(o, "type", json_string("flows"));
			json_object_set_new(o, "iface", json_string(ac->ifname));
			json_object_set_new(o, "time", json_real((double)(now + ac->epoch_off) / 1e9));
			json_object_set_new(o, "totals", fq_totals_json(&t));
			for (long j = 0; j < kept; j++)
				json_array_append_new(arr, fq_flow_json_kv(&tab->keys[live[j]],
									   &tab->vals[live[j]],
									   ac->epoch_off, false));
			json_object_set_new(o, "flows", arr);
			json_dumpf(o, stdout, JSON_COMPACT);
			fputc('\n', stdout);
			fflush(stdout);
			json_decref(o);
		} else {
			fq_print_flow_table(stdout, tab, live, kept, ac->top, &t, ac->ifname);
		}
	}
	if (all)
		poll_free(); /* the exit path: nothing is read after it */
	return 0;
}

void fq_attach_register(struct fq_attach_hook *h)
{
	h->next = hooks;
	hooks = h;
}

static const struct option attach_opts[] = {
	{ "mode", required_argument, NULL, 'm' },
	{ "interval", required_argument, NULL, 'i' },
	{ "max-flows", required_argument, NULL, 'n' },
	{ "idle-timeout", required_argument, NULL, 'I' },
	{ "active-timeout", required_argument, NULL, 'A' },
	{ "fin-timeout", required_argument, NULL, 'F' },
	{ "top", required_argument, NULL, 't' },
	{ "duration", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* attach's own options followed by every registered hook's */
static struct option *all_attach_opts(void)
{
	size_t n = sizeof(attach_opts) / sizeof(attach_opts[0]) - 1, k = 0;
	struct fq_attach_hook *h;
	struct option *all;

	for (h = hooks; h; h = h->next)
		for (const struct option *o = h->opts; o && o->name; o++)
			n++;
	all = calloc(n + 1, sizeof(*all));
	if (!all)
		return NULL;
	for (const struct option *o = attach_opts; o->name; o++)
		all[k++] = *o;
	for (h = hooks; h; h = h->next)
		for (const struct option *o = h->opts; o && o->name; o++)
			all[k++] = *o;
	return all;
}

static struct fq_attach_hook *hook_for(int val)
{
	for (struct fq_attach_hook *h = hooks; h; h = h->next)
		for (const struct option *o = h->opts; o && o->name; o++)
			if (o->val == val)
				return h;
	return NULL;
}

int do_attach(int argc, char **argv)
{
	struct fq_attach_ctx ac = {
		.interval_s = 1.0, .top = 20, .json = fq_json,
		.expiry = { .idle_ns = 15ULL * 1000000000, .active_ns = 1800ULL * 1000000000,
			    .fin_ns = 1000000000ULL },
	};
	struct fq_state st = { .mode = FQ_MODE_AUTO };
	struct flowqoe *skel = NULL;
	uint64_t max_flows = FQ_DEFAULT_MAX_FLOWS;
	double duration = 0, v;
	char pin[256], drv[64];
	int opt, err, ifindex, rc = FQ_EXIT_FAIL;
	bool xdp_done = false, tc_eg = false, tc_in = false, created = false;
	int clsact_created = 0;
	struct fq_attach_hook *h;
	struct option *opts = all_attach_opts();

	if (!opts)
		return FQ_EXIT_FAIL;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "m:i:n:jqh", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (fq_mode_parse(optarg, &st.mode)) {
				fq_err("--mode: '%s' is not one of auto, native, skb, tc", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'i':
			if (fq_parse_double(optarg, &v) || v < 0.01 || v > 3600) {
				fq_err("--interval: '%s' is not a number of seconds in [0.01, 3600]", optarg);
				return FQ_EXIT_USAGE;
			}
			ac.interval_s = v;
			break;
		case 'n':
			if (fq_parse_u64(optarg, &max_flows) || max_flows < 1 || max_flows > (1u << 26)) {
				fq_err("--max-flows: '%s' is not a count in [1, %u]", optarg, 1u << 26);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'I': case 'A': case 'F':
			if (fq_parse_double(optarg, &v) || v < 0 || v > 1e6) {
				fq_err("timeout '%s' is not a number of seconds in [0, 1e6]", optarg);
				return FQ_EXIT_USAGE;
			}
			if (opt == 'I') ac.expiry.idle_ns = v * 1e9;
			if (opt == 'A') ac.expiry.active_ns = v * 1e9;
			if (opt == 'F') ac.expiry.fin_ns = v * 1e9;
			break;
		case 't': {
			uint64_t k;

			if (fq_parse_u64(optarg, &k) || k > 100000) {
				fq_err("--top: '%s' is not a count", optarg);
				return FQ_EXIT_USAGE;
			}
			ac.top = k;
			break;
		}
		case 'd':
			if (fq_parse_double(optarg, &duration) || duration <= 0) {
				fq_err("--duration: '%s' is not a positive number of seconds", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'j': ac.json = true; break;
		case 'q': ac.quiet = true; break;
		case 'h': attach_usage(stdout); free(opts); return FQ_EXIT_OK;
		default:
			h = hook_for(opt);
			if (h && h->opt) {
				if (h->opt(&ac, opt, optarg))
					return FQ_EXIT_USAGE;
				break;
			}
			attach_usage(stderr);
			return FQ_EXIT_USAGE;
		}
	}
	free(opts);
	for (h = hooks; h; h = h->next)
		if (h->parse_done && h->parse_done(&ac))
			return FQ_EXIT_USAGE;
	if (optind != argc - 1) {
		fq_err("attach needs exactly one interface name");
		attach_usage(stderr);
		return FQ_EXIT_USAGE;
	}
	ac.ifname = argv[optind];
	ifindex = if_nametoindex(ac.ifname);
	if (!ifindex) {
		fq_err("no interface named '%s' (see `ip link`)", ac.ifname);
		return FQ_EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fq_err("attach needs root (CAP_BPF and CAP_NET_ADMIN): run it with sudo");
		return FQ_EXIT_FAIL;
	}

	/* one attach per interface: refuse, and say what to do with a stale one */
	{
		struct fq_state old;

		if (fq_state_read(ac.ifname, &old) == 0) {
			if (pid_alive(old.pid)) {
				fq_err("%s: already attached by flowqoe pid %d; stop it first", ac.ifname, old.pid);
				return FQ_EXIT_FAIL;
			}
			fq_err("%s: a flowqoe (pid %d) died without cleaning up; run `flowqoe detach %s`",
			       ac.ifname, old.pid, ac.ifname);
			return FQ_EXIT_FAIL;
		}
		fq_pin_dir(pin, sizeof(pin), ac.ifname);
		if (access(pin, F_OK) == 0) {
			fq_err("%s: pins exist in %s from an earlier run; run `flowqoe detach %s`",
			       ac.ifname, pin, ac.ifname);
			return FQ_EXIT_FAIL;
		}
	}

	/* Record ourselves before changing anything, so that if we are killed
	 * at any point below, `flowqoe detach` finds what to undo. */
	st.pid = getpid();
	st.max_flows = max_flows;
	if ((err = fq_state_write(ac.ifname, &st))) {
		fq_err("cannot write %s: %s", FQ_RUN_DIR, strerror(-err));
		return FQ_EXIT_FAIL;
	}
	created = true;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);

	if ((err = fq_bpffs_ensure())) {
		fq_err("/sys/fs/bpf is not a bpf filesystem and mounting one failed: %s", strerror(-err));
		goto out;
	}
	if (mkdir(FQ_PIN_ROOT, 0700) && errno != EEXIST) {
		fq_err("cannot create %s: %s (is bpffs mounted on /sys/fs/bpf?)", FQ_PIN_ROOT, strerror(errno));
		goto out;
	}
	{
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin);

		if (mkdir(pin, 0700) && errno != EEXIST) {
			fq_err("cannot create %s: %s", pin, strerror(errno));
			goto out;
		}
		skel = flowqoe__open_opts(&oo);
		if (!skel) {
			fq_err("opening the BPF object failed: %s", strerror(errno));
			goto out;
		}
	}
	bpf_map__set_max_entries(skel->maps.fq_flows, max_flows);
	ac.skel = skel;
	for (h = hooks; h; h = h->next)
		if (h->before_load && h->before_load(&ac)) {
			fq_err("%s: preparing %s failed", ac.ifname, h->name);
			goto out;
		}
	err = flowqoe__load(skel);
	if (err) {
		fq_err("loading the BPF programs failed: %s (%s); `flowqoe -v -v attach` shows the verifier log",
		       strerror(-err), fq_libbpf_last_warning());
		goto out;
	}
	skel->bss->fq_gso_split = if_gso_in_software(ac.ifname);

	if_driver(ac.ifname, drv, sizeof(drv));
	if (st.mode == FQ_MODE_AUTO) {
		if (xdp_hurts(drv)) {
			fq_info("%s: driver %s: native XDP would disable GSO and generic XDP copies"
				" every GSO packet here; using tc on both directions", ac.ifname, drv);
			st.mode = FQ_MODE_TC;
		} else {
			st.mode = FQ_MODE_NATIVE;
		}
		if (st.mode == FQ_MODE_NATIVE) {
			err = xdp_attach(ifindex, bpf_program__fd(skel->progs.fq_xdp), XDP_FLAGS_DRV_MODE);
			if (err) {
				fq_warn("%s: native XDP failed: %s (%s); falling back to skb mode",
					ac.ifname, strerror(-err), fq_libbpf_last_warning());
				st.mode = FQ_MODE_SKB;
			} else {
				xdp_done = true;
			}
		}
		if (st.mode == FQ_MODE_SKB) {
			err = xdp_attach(ifindex, bpf_program__fd(skel->progs.fq_xdp), XDP_FLAGS_SKB_MODE);
			if (err) {
				fq_warn("%s: generic XDP failed: %s (%s); falling back to tc",
					ac.ifname, strerror(-err), fq_libbpf_last_warning());
				st.mode = FQ_MODE_TC;
			} else {
				xdp_done = true;
			}
		}
	} else if (st.mode == FQ_MODE_NATIVE || st.mode == FQ_MODE_SKB) {
		err = xdp_attach(ifindex, bpf_program__fd(skel->progs.fq_xdp),
				 st.mode == FQ_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
		if (err) {
			fq_err("%s: attaching XDP in %s mode failed: %s (%s)%s", ac.ifname,
			       fq_mode_str(st.mode), strerror(-err), fq_libbpf_last_warning(),
			       err == -EBUSY || err == -EEXIST ?
				       "; another XDP program is attached (see `bpftool net`)" : "");
			goto out;
		}
		xdp_done = true;
	}
	if (xdp_done)
		st.xdp_flags = st.mode == FQ_MODE_NATIVE ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;

	err = clsact_ensure(ifindex, &clsact_created);
	if (err) {
		fq_err("%s: creating the clsact qdisc failed: %s", ac.ifname, strerror(-err));
		goto out;
	}
	st.clsact_created = clsact_created;
	fq_state_write(ac.ifname, &st);
	err = tc_attach(ifindex, bpf_program__fd(skel->progs.fq_tc_egress), BPF_TC_EGRESS);
	if (err) {
		fq_err("%s: attaching tc egress failed: %s (%s)", ac.ifname, strerror(-err),
		       fq_libbpf_last_warning());
		goto out;
	}
	tc_eg = true;
	st.tc_egress = 1;
	if (st.mode == FQ_MODE_TC) {
		err = tc_attach(ifindex, bpf_program__fd(skel->progs.fq_tc_ingress), BPF_TC_INGRESS);
		if (err) {
			fq_err("%s: attaching tc ingress failed: %s (%s)", ac.ifname, strerror(-err),
			       fq_libbpf_last_warning());
			goto out;
		}
		tc_in = true;
		st.tc_ingress = 1;
	}
	{
		struct bpf_prog_info info = {};
		__u32 ilen = sizeof(info);

		if (xdp_done && !bpf_obj_get_info_by_fd(bpf_program__fd(skel->progs.fq_xdp), &info, &ilen))
			st.xdp_prog_id = info.id;
	}
	fq_state_write(ac.ifname, &st);
	fq_info("%s: attached (mode %s, driver %s, max %llu flows), maps in %s", ac.ifname,
		fq_mode_str(st.mode), drv[0] ? drv : "?", (unsigned long long)max_flows, pin);
	if (!ac.json)
		fprintf(stderr, "flowqoe: %s: attached in %s mode; Ctrl-C detaches\n", ac.ifname,
			fq_mode_str(st.mode));

	ac.skel = skel;
	ac.mode = st.mode;
	ac.flows_fd = bpf_map__fd(skel->maps.fq_flows);
	ac.totals_fd = bpf_map__fd(skel->maps.fq_totals);
	ac.epoch_off = fq_mono_to_epoch_offset();
	for (h = hooks; h; h = h->next)
		if (h->start && h->start(&ac)) {
			fq_err("%s: starting %s failed", ac.ifname, h->name);
			goto out;
		}

	{
		uint64_t t0 = fq_now_mono_ns();
		uint64_t step = ac.interval_s * 1e9;
		uint64_t next = t0 + step;

		while (!stop_signal) {
			uint64_t now = fq_now_mono_ns();
			struct timespec ts;

			if (duration > 0 && now - t0 >= duration * 1e9)
				break;
			if (now < next) {
				uint64_t d = next - now;

				if (d > 100000000)
					d = 100000000; /* wake at least every 100 ms for signals */
				ts.tv_sec = d / 1000000000;
				ts.tv_nsec = d % 1000000000;
				nanosleep(&ts, NULL);
				continue;
			}
			next += step;
			if (next < now)
				next = now + step;
			poll_once(&ac, false);
		}
	}
	/* exit path: flows still in the table end with reason "exit" */
	poll_once(&ac, true);
	rc = FQ_EXIT_OK;
	if (stop_signal)
		fq_info("%s: signal %d, detaching", ac.ifname, (int)stop_signal);
out:
	for (h = hooks; h; h = h->next)
		if (h->stop)
			h->stop(&ac);
	{
		int ifidx = if_nametoindex(ac.ifname);

		if (ifidx) {
			if (xdp_done)
				xdp_detach_ours(ifidx);
			if (tc_in)
				tc_detach(ifidx, BPF_TC_INGRESS);
			if (tc_eg)
				tc_detach(ifidx, BPF_TC_EGRESS);
			if (clsact_created)
				clsact_destroy(ifidx);
		}
	}
	if (skel)
		flowqoe__destroy(skel);
	if (created)
		teardown(ac.ifname, NULL, false); /* pins and state file */
	return rc;
}

/* ---- detach ------------------------------------------------------------ */

int do_detach(int argc, char **argv)
{
	struct fq_state st;
	const char *ifname;
	int have, n;

	if (argc != 2 || argv[1][0] == '-') {
		FILE *f = argc == 2 && !strcmp(argv[1], "--help") ? stdout : stderr;

		fprintf(f, "usage: flowqoe detach IFACE\n\n"
			   "Remove what a flowqoe attach added to IFACE and could not remove itself\n"
			   "(after SIGKILL or a crash): the XDP program named fq_xdp, the tc filters\n"
			   "with flowqoe's handle, the clsact qdisc if flowqoe created it, the pins in\n"
			   FQ_PIN_ROOT "/IFACE and " FQ_RUN_DIR "/IFACE.state.  Other programs stay.\n");
		return f == stdout ? FQ_EXIT_OK : FQ_EXIT_USAGE;
	}
	ifname = argv[1];
	if (geteuid() != 0) {
		fq_err("detach needs root: run it with sudo");
		return FQ_EXIT_FAIL;
	}
	have = fq_state_read(ifname, &st) == 0;
	if (have && pid_alive(st.pid)) {
		fq_err("%s: flowqoe pid %d is still running; stop it (SIGTERM) and it detaches itself",
		       ifname, st.pid);
		return FQ_EXIT_FAIL;
	}
	if (have) {
		unsigned long ino = state_netns(ifname), self = netns_ino("/proc/self/ns/net");
		char where[512];

		/* from another namespace, IFACE here is not (or not the same)
		 * interface: its hooks would stay attached while we deleted the
		 * record of them and of the clsact we created */
		if (ino && self && ino != self && netns_alive(ino, where, sizeof(where))) {
			/* nsenter, not `ip netns exec`: that one remounts /sys
			 * without the bpffs that holds our pins */
			fq_err("%s: flowqoe attached it in another network namespace (net:[%lu], this is"
			       " net:[%lu]); detach it there: `nsenter --net=%s flowqoe detach %s`",
			       ifname, ino, self, where, ifname);
			return FQ_EXIT_FAIL;
		}
	}
	n = teardown(ifname, have ? &st : NULL, false);
	n += fq_shaper_teardown(ifname); /* shaper/shaper.h: `shape` leaves no foreground process */
	if (fq_json)
		printf("{\"iface\":\"%s\",\"removed\":%d}\n", ifname, n);
	else
		printf("%s: removed %d object%s\n", ifname, n, n == 1 ? "" : "s");
	return FQ_EXIT_OK;
}

/* ---- flows (from another process) ------------------------------------- */

static int open_pinned(const char *ifname, const char *map, bool quiet)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", FQ_PIN_ROOT, ifname, map);
	fd = bpf_obj_get(path);
	if (fd < 0 && !quiet)
		fq_err("%s: no flowqoe attach found (%s: %s); start `flowqoe attach %s`", ifname,
		       path, strerror(errno), ifname);
	return fd;
}

int fq_open_pinned(const char *ifname, const char *map)
{
	return open_pinned(ifname, map, false);
}

int do_flows(int argc, char **argv)
{
	bool json = fq_json;
	const char *ifname = NULL;
	struct fq_flowtab tab;
	struct fq_totals t = {};
	int fd, tfd;
	long n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (!strcmp(argv[i], "--help")) {
			printf("usage: flowqoe flows IFACE [--json]\n\n"
			       "Print the current flows of a running `flowqoe attach IFACE`, read from its\n"
			       "pinned maps.  JSON: an array of flow objects (src = the initiator).\n");
			return FQ_EXIT_OK;
		} else if (argv[i][0] == '-' || ifname) {
			fq_err("usage: flowqoe flows IFACE [--json]");
			return FQ_EXIT_USAGE;
		} else
			ifname = argv[i];
	}
	if (!ifname) {
		fq_err("usage: flowqoe flows IFACE [--json]");
		return FQ_EXIT_USAGE;
	}
	fd = fq_open_pinned(ifname, FQ_MAP_FLOWS);
	if (fd < 0)
		return FQ_EXIT_FAIL;
	n = fq_flowtab_read_fd(&tab, fd);
	close(fd);
	if (n < 0) {
		fq_err("%s: reading flows: %s", ifname, strerror((int)-n));
		fq_flowtab_free(&tab);
		return FQ_EXIT_FAIL;
	}
	tfd = open_pinned(ifname, FQ_MAP_TOTALS, true);
	if (tfd >= 0) {
		fq_totals_read(tfd, &t);
		close(tfd);
	}
	if (json) {
		json_t *arr = json_array();
		int64_t off = fq_mono_to_epoch_offset();

		for (long i = 0; i < n; i++)
			json_array_append_new(arr, fq_flow_json_kv(&tab.keys[i], &tab.vals[i], off, true));
		json_dumpf(arr, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(arr);
	} else {
		fq_print_flow_table(stdout, &tab, NULL, n, n, &t, ifname);
	}
	fq_flowtab_free(&tab);
	return FQ_EXIT_OK;
}

/* ---- status ------------------------------------------------------------ */

int do_status(int argc, char **argv)
{
	bool json = fq_json;
	json_t *arr = json_array();
	struct dirent *de;
	DIR *d;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = true;
		else if (!strcmp(argv[i], "--help")) {
			printf("usage: flowqoe status [--json]\n\n"
			       "List interfaces flowqoe is attached to: pid, mode, programs, maps,\n"
			       "flow count and table size, totals and drop/overflow counters.\n");
			json_decref(arr);
			return FQ_EXIT_OK;
		} else {
			fq_err("usage: flowqoe status [--json]");
			json_decref(arr);
			return FQ_EXIT_USAGE;
		}
	}
	d = opendir(FQ_PIN_ROOT);
	while (d && (de = readdir(d))) {
		struct fq_state st;
		struct fq_totals t = {};
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		json_t *o, *maps;
		char dir[512];
		struct dirent *me;
		DIR *md;
		int fd, ifindex;
		long nflows = -1;

		if (de->d_name[0] == '.')
			continue;
		o = json_object();
		json_object_set_new(o, "iface", json_string(de->d_name));
		ifindex = if_nametoindex(de->d_name);
		json_object_set_new(o, "ifindex", json_integer(ifindex));
		if (fq_state_read(de->d_name, &st) == 0) {
			json_object_set_new(o, "pid", json_integer(st.pid));
			json_object_set_new(o, "running", json_boolean(pid_alive(st.pid)));
			json_object_set_new(o, "mode", json_string(fq_mode_str(st.mode)));
		} else {
			json_object_set_new(o, "running", json_false());
		}
		if (ifindex) {
			LIBBPF_OPTS(bpf_xdp_query_opts, q);
			json_t *progs = json_array();
			char name[32];

			if (bpf_xdp_query(ifindex, 0, &q) == 0) {
				__u32 ids[2] = { q.drv_prog_id, q.skb_prog_id };
				const char *m[2] = { "xdp-native", "xdp-generic" };

				for (int i = 0; i < 2; i++) {
					if (!ids[i])
						continue;
					prog_name(ids[i], name, sizeof(name));
					json_array_append_new(progs, json_pack("{s:s,s:i,s:s}", "hook", m[i],
									       "id", (int)ids[i], "name", name));
				}
			}
			for (int w = 0; w < 2; w++) {
				LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
					    .attach_point = w ? BPF_TC_INGRESS : BPF_TC_EGRESS);
				LIBBPF_OPTS(bpf_tc_opts, to, .handle = FQ_TC_HANDLE, .priority = FQ_TC_PRIO);

				if (bpf_tc_query(&hook, &to) == 0) {
					prog_name(to.prog_id, name, sizeof(name));
					json_array_append_new(progs, json_pack("{s:s,s:i,s:s}", "hook",
									       w ? "tc-ingress" : "tc-egress",
									       "id", (int)to.prog_id, "name", name));
				}
			}
			json_object_set_new(o, "programs", progs);
		}
		maps = json_array();
		snprintf(dir, sizeof(dir), "%s/%s", FQ_PIN_ROOT, de->d_name);
		md = opendir(dir);
		while (md && (me = readdir(md)))
			if (me->d_name[0] != '.')
				json_array_append_new(maps, json_string(me->d_name));
		if (md)
			closedir(md);
		json_object_set_new(o, "pins", maps);
		fd = open_pinned(de->d_name, FQ_MAP_FLOWS, true);
		if (fd >= 0) {
			struct fq_flowtab tab;

			if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0)
				json_object_set_new(o, "max_flows", json_integer(mi.max_entries));
			nflows = fq_flowtab_read_fd(&tab, fd);
			fq_flowtab_free(&tab);
			json_object_set_new(o, "flows", json_integer(nflows));
			close(fd);
		}
		fd = open_pinned(de->d_name, FQ_MAP_TOTALS, true);
		if (fd >= 0) {
			fq_totals_read(fd, &t);
			json_object_set_new(o, "totals", fq_totals_json(&t));
			close(fd);
		}
		json_array_append_new(arr, o);
	}
	if (d)
		closedir(d);
	if (json) {
		json_dumpf(arr, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	} else if (json_array_size(arr) == 0) {
		printf("flowqoe is not attached to any interface\n");
	} else {
		size_t i;
		json_t *o;

		json_array_foreach(arr, i, o) {
			json_t *t = json_object_get(o, "totals"), *p;
			size_t j;

			printf("%s: %s, mode %s, pid %lld, %lld/%lld flows\n",
			       json_string_value(json_object_get(o, "iface")),
			       json_is_true(json_object_get(o, "running")) ? "running" : "NOT RUNNING (run flowqoe detach)",
			       json_string_value(json_object_get(o, "mode")) ?: "?",
			       json_integer_value(json_object_get(o, "pid")),
			       json_integer_value(json_object_get(o, "flows")),
			       json_integer_value(json_object_get(o, "max_flows")));
			json_array_foreach(json_object_get(o, "programs"), j, p)
				printf("  program %s id %lld on %s\n", json_string_value(json_object_get(p, "name")),
				       json_integer_value(json_object_get(p, "id")),
				       json_string_value(json_object_get(p, "hook")));
			if (t) {
				const char *k;
				json_t *v;

				printf("  ");
				json_object_foreach(t, k, v)
					printf("%s %lld  ", k, json_integer_value(v));
				printf("\n");
			}
		}
	}
	json_decref(arr);
	return FQ_EXIT_OK;
}
