// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * shape: token-bucket bandwidth limits kept in BPF maps.
 *
 * `flowqoe shape IFACE --rate R` configures and exits.  What stays behind:
 *   - the maps fq_sh_cfg and fq_sh_buckets pinned in FQ_SH_PIN_ROOT/IFACE/;
 *   - the programs, held by tcx links pinned next to them (kernel >= 6.6),
 *     or by clsact filters with our own handle/priority (older kernels);
 *   - edt/htb: a root qdisc with handle f10e: on IFACE (egress) and on an
 *     ifb device fqsh<ifindex> that ingress is redirected to;
 *   - /run/flowqoe/IFACE.shaper: what we created (whether clsact was ours).
 * Every object carries that signature (handle f10e:, ifb name, filter
 * handle, pin folder), so teardown removes exactly those even without the
 * state file, and never a qdisc or filter the user had.
 *
 * Qdiscs, classes and the ifb device are configured by running tc and ip
 * (iproute2): they are the reference netlink clients for htb/fq and ifb,
 * and their error messages are the kernel's.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "common.h"
#include "cmds.h"
#include "attach.h"
#include "shaper.h"
#include "shaper.skel.h"

/* Root qdisc handle f10e: on IFACE and on the ifb (htb classes f10e:1xx). */
#define SH_QDISC_MAJOR 0xf10e
#define SH_LEAF_MAJOR 0xf110
/* clsact filter identity when tcx is missing.  Priority below attach's
 * 0xf10e so ours runs first: attach's filter returns TC_ACT_OK, which ends
 * the clsact chain, while ours returns TC_ACT_UNSPEC and lets it run. */
#define SH_TC_HANDLE 0xf10d
#define SH_TC_PRIO 0xf10d
/*
 * Before Linux 6.4 a bpf_redirect() to an ifb is dropped by the ifb (the
 * skb is not marked redirected; fixed by "bpf: Fix bpf_redirect to ifb").
 * On the clsact path (no tcx: kernel < 6.6) ingress goes to the ifb
 * through a u32 + mirred filter at this priority instead.
 */
#define SH_MIRRED_PRIO "61708" /* 0xf10c */
/* uapi values missing from the 6.1 headers this builds against */
#define SH_BPF_TCX_INGRESS 46
#define SH_BPF_TCX_EGRESS 47

#define SH_MIN_RATE 125ULL                /* bytes/s = 1 kbit/s */
#define SH_MAX_RATE 125000000000ULL       /* bytes/s = 1 Tbit/s */
#define SH_MIN_BURST 64ULL
#define SH_MAX_BURST (1ULL << 30)
#define SH_DEFAULT_CLASSES 16

enum sh_attach { SH_ATT_NONE = 0, SH_ATT_TCX, SH_ATT_CLSACT };
enum sh_dirs { SH_DIR_EGRESS = 1, SH_DIR_INGRESS = 2, SH_DIR_BOTH = 3 };

static const char *mode_names[] = { "auto", "edt", "police", "htb" };
static const char *per_names[] = { "iface", "ip", "flow" };
static const char *dir_names[] = { "", "egress", "ingress", "both" };
static const char *att_names[] = { "none", "tcx", "clsact" };

/* What a shaper is and what it created: /run/flowqoe/IFACE.shaper */
struct sh_state {
	int mode;           /* enum fq_sh_mode */
	int per;            /* enum fq_sh_per */
	int dirs;           /* enum sh_dirs */
	int attach;         /* enum sh_attach */
	int clsact_created;
	int root_qdisc;     /* our f10e: root qdisc on IFACE */
	unsigned int nclasses;
	char ifb[IF_NAMESIZE];
};

/* ---- units (tc's) ------------------------------------------------------ */

struct sh_unit {
	const char *name;
	double scale;
};

static int parse_units(const char *s, const struct sh_unit *u, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	for (; u->name; u++)
		if (!strcasecmp(end, u->name)) {
			*out = v * u->scale;
			return 0;
		}
	return -EINVAL;
}

/* A rate in tc's units -> bytes/s.  tc: bare number and "bit" are bit/s,
 * k/m/g/t are 10^3.., ki/mi/gi/ti are 2^10.., "bps" is bytes/s. */
int fq_sh_parse_rate(const char *s, uint64_t *bytes_per_s)
{
	static const struct sh_unit u[] = {
		{ "", 1 }, { "bit", 1 }, { "kbit", 1e3 }, { "mbit", 1e6 }, { "gbit", 1e9 },
		{ "tbit", 1e12 }, { "kibit", 1024. }, { "mibit", 1048576. },
		{ "gibit", 1073741824. }, { "tibit", 1099511627776. }, { "bps", 8 },
		{ "kbps", 8e3 }, { "mbps", 8e6 }, { "gbps", 8e9 }, { "tbps", 8e12 },
		{ "kibps", 8 * 1024. }, { "mibps", 8 * 1048576. }, { "gibps", 8 * 1073741824. },
		{ "tibps", 8 * 1099511627776. }, { NULL, 0 },
	};
	double bits;

	if (parse_units(s, u, &bits))
		return -EINVAL;
	if (bits <= 0)
		return -ERANGE;
	if (bits / 8 < SH_MIN_RATE || bits / 8 > SH_MAX_RATE)
		return -ERANGE;
	*bytes_per_s = (uint64_t)(bits / 8); /* tc truncates the same way */
	return 0;
}

/* A size in tc's units -> bytes: bare/b bytes, k/kb m/mb g/gb binary
 * kilo/mega/gigabytes, kbit/mbit/gbit binary kilo.. bits. */
int fq_sh_parse_size(const char *s, uint64_t *bytes)
{
	static const struct sh_unit u[] = {
		{ "", 1 }, { "b", 1 }, { "k", 1024. }, { "kb", 1024. }, { "m", 1048576. },
		{ "mb", 1048576. }, { "g", 1073741824. }, { "gb", 1073741824. },
		{ "kbit", 1024. / 8 }, { "mbit", 1048576. / 8 }, { "gbit", 1073741824. / 8 },
		{ NULL, 0 },
	};
	double v;

	if (parse_units(s, u, &v))
		return -EINVAL;
	if (v < SH_MIN_BURST || v > SH_MAX_BURST)
		return -ERANGE;
	*bytes = (uint64_t)v;
	return 0;
}

/* "1.5mbit" style, for messages */
static void rate_str(uint64_t bytes_per_s, char *buf, size_t len)
{
	double bits = bytes_per_s * 8.0;

	if (bits >= 1e9)
		snprintf(buf, len, "%.6ggbit", bits / 1e9);
	else if (bits >= 1e6)
		snprintf(buf, len, "%.6gmbit", bits / 1e6);
	else
		snprintf(buf, len, "%.6gkbit", bits / 1e3);
}

/* ---- running tc / ip ---------------------------------------------------- */

/*
 * Run argv (no shell: interface names go through as they are), feeding
 * input on stdin if given; stdout+stderr land in out.  Returns the exit
 * status, or -errno if it could not run.
 */
static int run_tool(char *const argv[], const char *input, char *out, size_t outlen)
{
	int in[2] = { -1, -1 }, op[2];
	size_t n = 0;
	pid_t pid;
	int st;

	if (out && outlen)
		out[0] = 0;
	if (pipe(op))
		return -errno;
	if (input && pipe(in)) {
		close(op[0]);
		close(op[1]);
		return -errno;
	}
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(op[1], 1);
		dup2(op[1], 2);
		if (input)
			dup2(in[0], 0);
		close(op[0]);
		close(op[1]);
		if (input) {
			close(in[0]);
			close(in[1]);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(127);
	}
	close(op[1]);
	if (input) {
		close(in[0]);
		/* small scripts: fit in the pipe, no deadlock with our reads */
		if (write(in[1], input, strlen(input)) < 0)
			fq_dbg("writing to %s: %s", argv[0], strerror(errno));
		close(in[1]);
	}
	for (;;) {
		char tmp[4096];
		ssize_t r = read(op[0], tmp, sizeof(tmp));

		if (r <= 0)
			break;
		if (out && n + 1 < outlen) {
			size_t c = (size_t)r < outlen - n - 1 ? (size_t)r : outlen - n - 1;

			memcpy(out + n, tmp, c);
			n += c;
			out[n] = 0;
		}
	}
	close(op[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (out)
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Run "tc -batch -" on a script; errors in err. */
static int tc_batch(const char *script, char *err, size_t errlen)
{
	char *argv[] = { "tc", "-batch", "-", NULL };

	fq_dbg("tc -batch:\n%s", script);
	return run_tool(argv, script, err, errlen);
}

/* Kind and handle of dev's root qdisc ("noqueue", "0:"). */
static int root_qdisc(const char *dev, char *kind, size_t klen, char *handle, size_t hlen,
		      uint64_t *drops)
{
	char *argv[] = { "tc", "-s", "-j", "qdisc", "show", "dev", (char *)dev, "root", NULL };
	char out[65536];
	json_t *j, *q;
	int rc;

	kind[0] = handle[0] = 0;
	if (drops)
		*drops = 0;
	rc = run_tool(argv, NULL, out, sizeof(out));
	if (rc)
		return -EIO;
	j = json_loads(out, 0, NULL);
	if (!j)
		return -EIO;
	q = json_array_get(j, 0);
	if (q) {
		snprintf(kind, klen, "%s", json_string_value(json_object_get(q, "kind")) ?: "");
		snprintf(handle, hlen, "%s", json_string_value(json_object_get(q, "handle")) ?: "");
		if (drops)
			*drops = json_integer_value(json_object_get(q, "drops"));
	}
	json_decref(j);
	return 0;
}

static bool root_is_ours(const char *dev)
{
	char kind[32], handle[32], want[16];

	snprintf(want, sizeof(want), "%x:", SH_QDISC_MAJOR);
	return root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle), NULL) == 0 &&
	       !strcmp(handle, want);
}

/* ---- paths, state ------------------------------------------------------- */

static void sh_pin_dir(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s", FQ_SH_PIN_ROOT, ifname);
}

static void sh_state_path(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s.shaper", FQ_RUN_DIR, ifname);
}

static void sh_ifb_name(char *buf, size_t len, int ifindex)
{
	snprintf(buf, len, "fqsh%d", ifindex);
}

static int state_write(const char *ifname, const struct sh_state *st)
{
	char path[256];
	FILE *f;

	mkdir(FQ_RUN_DIR, 0755);
	sh_state_path(path, sizeof(path), ifname);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "mode=%d\nper=%d\ndirs=%d\nattach=%d\nclsact_created=%d\nroot_qdisc=%d\n"
		   "nclasses=%u\nifb=%s\n",
		st->mode, st->per, st->dirs, st->attach, st->clsact_created, st->root_qdisc,
		st->nclasses, st->ifb);
	fclose(f);
	return 0;
}

static int state_read(const char *ifname, struct sh_state *st)
{
	char path[256], line[128];
	FILE *f;

	memset(st, 0, sizeof(*st));
	sh_state_path(path, sizeof(path), ifname);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "mode=%d", &st->mode);
		sscanf(line, "per=%d", &st->per);
		sscanf(line, "dirs=%d", &st->dirs);
		sscanf(line, "attach=%d", &st->attach);
		sscanf(line, "clsact_created=%d", &st->clsact_created);
		sscanf(line, "root_qdisc=%d", &st->root_qdisc);
		sscanf(line, "nclasses=%u", &st->nclasses);
		sscanf(line, "ifb=%15s", st->ifb);
	}
	fclose(f);
	if (st->mode < FQ_SH_MODE_EDT || st->mode > FQ_SH_MODE_HTB || st->per < 0 ||
	    st->per > FQ_SH_PER_FLOW || st->dirs < 1 || st->dirs > 3)
		return -EINVAL;
	return 0;
}

/* ---- attaching programs ------------------------------------------------- */

static int tc_filter(int ifindex, int prog_fd, bool ingress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SH_TC_HANDLE, .priority = SH_TC_PRIO,
		    .prog_fd = prog_fd);

	return bpf_tc_attach(&hook, &opts);
}

static int tc_filter_del(int ifindex, bool ingress)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SH_TC_HANDLE, .priority = SH_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

/* Does a clsact hook hold a filter with this identity? */
static bool tc_filter_exists(int ifindex, bool ingress, __u32 handle, __u32 prio)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = prio);

	return bpf_tc_query(&hook, &opts) == 0;
}

/*
 * Attach prog at a hook of ifindex: a tcx link pinned at pin (it lives
 * as long as the pin), else a clsact filter.  *att is the method: NONE on
 * the first call picks (tcx if the kernel has it), later calls follow it.
 */
static int attach_prog(int ifindex, int prog_fd, bool ingress, bool is_ifb, const char *pin,
		       struct sh_state *st)
{
	int fd, err;

	if (st->attach != SH_ATT_CLSACT) {
		fd = bpf_link_create(prog_fd, ifindex,
				     ingress ? SH_BPF_TCX_INGRESS : SH_BPF_TCX_EGRESS, NULL);
		if (fd >= 0) {
			err = bpf_obj_pin(fd, pin) ? -errno : 0;
			close(fd);
			if (err)
				fq_err("pinning %s: %s", pin, strerror(-err));
			else
				st->attach = SH_ATT_TCX;
			return err;
		}
		err = -errno;
		if (st->attach == SH_ATT_TCX) {
			fq_err("tcx attach failed: %s", strerror(-err));
			return err;
		}
		fq_info("tcx links unavailable (%s, kernel < 6.6?): using clsact filters",
			strerror(-err));
		st->attach = SH_ATT_CLSACT;
	}
	{
		LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
			    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		err = bpf_tc_hook_create(&hook);
		/* only IFACE's clsact matters: the ifb is deleted whole */
		if (err == 0 && !is_ifb)
			st->clsact_created = 1;
		else if (err && err != -EEXIST) {
			fq_err("creating clsact: %s", strerror(-err));
			return err;
		}
	}
	err = tc_filter(ifindex, prog_fd, ingress);
	if (err)
		fq_err("attaching the tc filter: %s (%s)", strerror(-err),
		       fq_libbpf_last_warning());
	return err;
}

/* ingress -> ifb with act_mirred (see SH_MIRRED_PRIO) */
static int mirred_redirect(int ifindex, const char *ifname, const char *ifb, struct sh_state *st)
{
	char *argv[] = { "tc", "filter", "add", "dev", (char *)ifname, "ingress", "prio",
			 SH_MIRRED_PRIO, "protocol", "all", "u32", "match", "u32", "0", "0",
			 "action", "mirred", "egress", "redirect", "dev", (char *)ifb, NULL };
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	char err[512];
	int rc = bpf_tc_hook_create(&hook);

	if (rc == 0)
		st->clsact_created = 1;
	else if (rc != -EEXIST) {
		fq_err("creating clsact: %s", strerror(-rc));
		return rc;
	}
	if (run_tool(argv, NULL, err, sizeof(err))) {
		fq_err("%s: redirecting ingress to %s (u32 + mirred): %s", ifname, ifb, err);
		return -EIO;
	}
	return 0;
}

static bool mirred_exists(const char *ifname)
{
	char *argv[] = { "tc", "filter", "show", "dev", (char *)ifname, "ingress", "prio",
			 SH_MIRRED_PRIO, NULL };
	char out[2048];

	return run_tool(argv, NULL, out, sizeof(out)) == 0 && strstr(out, "mirred");
}

/* ---- teardown ------------------------------------------------------------ */

static int unpin_dir(const char *dir)
{
	static const char *names[] = { FQ_SH_MAP_CFG, FQ_SH_MAP_BUCKETS, "link_egress",
				       "link_ingress", "link_ifb", NULL };
	char path[512];
	int n = 0;

	for (int i = 0; names[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path) == 0)
			n++;
	}
	rmdir(dir);
	rmdir(FQ_SH_PIN_ROOT); /* only once the last interface is gone */
	return n;
}

static int link_exists(const char *name)
{
	return if_nametoindex(name) != 0;
}

/* Remove what st (or, without state, our signatures) says we created. */
static int teardown(const char *ifname, const struct sh_state *st)
{
	int ifindex = if_nametoindex(ifname);
	char dir[256], path[256], ifb[IF_NAMESIZE] = "", err[512];
	int n = 0;

	if (st && st->ifb[0])
		snprintf(ifb, sizeof(ifb), "%s", st->ifb);
	else if (ifindex)
		sh_ifb_name(ifb, sizeof(ifb), ifindex);

	/* tcx links go with their pins; clsact filters by identity */
	sh_pin_dir(dir, sizeof(dir), ifname);
	n += unpin_dir(dir);
	if (ifindex) {
		if (tc_filter_del(ifindex, false) == 0)
			n++;
		if (tc_filter_del(ifindex, true) == 0)
			n++;
		if (mirred_exists(ifname)) {
			char *argv[] = { "tc", "filter", "del", "dev", (char *)ifname, "ingress",
					 "prio", SH_MIRRED_PRIO, NULL };

			if (run_tool(argv, NULL, err, sizeof(err)) == 0)
				n++;
			else
				fq_warn("%s: removing the mirred filter: %s", ifname, err);
		}
		/* clsact goes only if we created it and nobody else uses it */
		if (st && st->clsact_created &&
		    !tc_filter_exists(ifindex, false, 0xf10e, 0xf10e) &&
		    !tc_filter_exists(ifindex, true, 0xf10e, 0xf10e)) {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

			if (bpf_tc_hook_destroy(&hook) == 0)
				n++;
		}
		if (root_is_ours(ifname)) {
			char *argv[] = { "tc", "qdisc", "del", "dev", (char *)ifname, "root",
					 "handle", "f10e:", NULL };

			if (run_tool(argv, NULL, err, sizeof(err)) == 0)
				n++;
			else
				fq_warn("%s: removing root qdisc f10e:: %s", ifname, err);
		}
	}
	if (ifb[0] && link_exists(ifb)) {
		char *argv[] = { "ip", "link", "del", "dev", ifb, "type", "ifb", NULL };

		if (run_tool(argv, NULL, err, sizeof(err)) == 0)
			n++;
		else
			fq_warn("removing %s: %s", ifb, err);
	}
	sh_state_path(path, sizeof(path), ifname);
	if (unlink(path) == 0)
		n++;
	return n;
}

int fq_shaper_teardown(const char *ifname)
{
	struct sh_state st;
	bool have = state_read(ifname, &st) == 0;

	return teardown(ifname, have ? &st : NULL);
}

/* ---- qdisc set-up -------------------------------------------------------- */

/* Queue of one htb leaf: about 100 ms at the rate, within [8, 1000]
 * packets, so latency under load stays bounded at low rates. */
static unsigned int leaf_limit(uint64_t rate)
{
	uint64_t p = rate / 10 / 1514;

	return p < 8 ? 8 : p > 1000 ? 1000 : (unsigned int)p;
}

static void htb_script(char *buf, size_t len, const char *dev, const char *verb, uint64_t rate,
		       uint64_t burst, unsigned int nclasses)
{
	/* quantum only matters when classes borrow (they do not: ceil ==
	 * rate); set it so the kernel does not warn about r2q */
	uint64_t quantum = rate / 10;
	size_t o = 0;

	quantum = quantum < 1514 ? 1514 : quantum > 200000 ? 200000 : quantum;
	buf[0] = 0;
	if (!strcmp(verb, "add"))
		o += snprintf(buf + o, len - o, "qdisc add dev %s root handle %x: htb default %x\n",
			      dev, SH_QDISC_MAJOR, FQ_SH_CLASS_BASE);
	for (unsigned int i = 0; i < nclasses && o < len; i++) {
		o += snprintf(buf + o, len - o,
			      "class %s dev %s parent %x: classid %x:%x htb rate %llubps ceil %llubps "
			      "burst %llu cburst %llu quantum %llu\n",
			      verb, dev, SH_QDISC_MAJOR, SH_QDISC_MAJOR, FQ_SH_CLASS_BASE + i,
			      (unsigned long long)rate, (unsigned long long)rate,
			      (unsigned long long)burst, (unsigned long long)burst,
			      (unsigned long long)quantum);
		/* leaf fifo handles f110: + i, so a rate change can resize them */
		if (o < len)
			o += snprintf(buf + o, len - o,
				      "qdisc %s dev %s parent %x:%x handle %x: pfifo limit %u\n", verb,
				      dev, SH_QDISC_MAJOR, FQ_SH_CLASS_BASE + i, SH_LEAF_MAJOR + i,
				      leaf_limit(rate));
	}
}

/*
 * Put our root qdisc on dev.  Returns -ENOENT when the kernel does not
 * know the qdisc kind (sch_fq missing), so that --mode auto can fall back.
 */
static int root_setup(const char *dev, int mode, uint64_t rate, uint64_t burst,
		      unsigned int nclasses, char *why, size_t whylen)
{
	char script[FQ_SH_MAX_CLASSES * 256 + 256];
	int rc;

	if (mode == FQ_SH_MODE_EDT)
		/* the fq default horizon (10 s) is above ours; flow_limit
		 * raised so fq does not drop before our horizon does */
		snprintf(script, sizeof(script),
			 "qdisc add dev %s root handle %x: fq flow_limit 10000\n", dev,
			 SH_QDISC_MAJOR);
	else
		htb_script(script, sizeof(script), dev, "add", rate, burst, nclasses);
	rc = tc_batch(script, why, whylen);
	if (rc == 0)
		return 0;
	if (strstr(why, "kind is unknown") || strstr(why, "Unknown qdisc"))
		return -ENOENT;
	return -EIO;
}

/* ---- show ---------------------------------------------------------------- */

static int open_pin(const char *ifname, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s", FQ_SH_PIN_ROOT, ifname, name);
	return bpf_obj_get(path);
}

static json_t *counters_json(uint64_t pkts, uint64_t bytes)
{
	return json_pack("{sIsI}", "packets", (json_int_t)pkts, "bytes", (json_int_t)bytes);
}

static void key_str(const struct fq_sh_key *k, int per, char *buf, size_t len)
{
	char a[64], b[64];

	if (k->family == FQ_SH_FAMILY_OVERFLOW) {
		snprintf(buf, len, "(table full)");
		return;
	}
	if (per == FQ_SH_PER_IFACE) {
		snprintf(buf, len, "*");
		return;
	}
	if (k->family != 4 && k->family != 6) {
		snprintf(buf, len, "(not IP)");
		return;
	}
	fq_addr_str(k->addr, k->family, a, sizeof(a));
	if (per == FQ_SH_PER_IP) {
		snprintf(buf, len, "%s", a);
		return;
	}
	fq_addr_str(k->addr2, k->family, b, sizeof(b));
	snprintf(buf, len, "%s:%u>%s:%u/%u", a, k->sport, b, k->dport, k->proto);
}

static int do_show(const char *ifname, bool json)
{
	struct sh_state st;
	struct fq_sh_cfg cfg[FQ_SH_NDIR] = {};
	struct fq_sh_key k, next, *prev = NULL;
	struct fq_sh_bucket b;
	json_t *root, *buckets, *dirs;
	int cfd, bfd;

	if (state_read(ifname, &st)) {
		fq_err("%s: no shaper (see `flowqoe shape --help`)", ifname);
		return FQ_EXIT_FAIL;
	}
	cfd = open_pin(ifname, FQ_SH_MAP_CFG);
	bfd = open_pin(ifname, FQ_SH_MAP_BUCKETS);
	if (cfd < 0 || bfd < 0) {
		fq_err("%s: shaper maps are not pinned in %s/%s: run `flowqoe shape %s --off`",
		       ifname, FQ_SH_PIN_ROOT, ifname, ifname);
		return FQ_EXIT_FAIL;
	}
	for (__u32 d = 0; d < FQ_SH_NDIR; d++)
		bpf_map_lookup_elem(cfd, &d, &cfg[d]);

	root = json_pack("{sssssssssi}", "iface", ifname, "mode", mode_names[st.mode], "per",
			 per_names[st.per], "attach", att_names[st.attach], "classes",
			 st.nclasses);
	dirs = json_object();
	for (int d = 0; d < FQ_SH_NDIR; d++) {
		const char *dev = d == FQ_SH_EGRESS ? ifname : st.ifb;
		char kind[32], handle[32];
		uint64_t drops = 0;
		json_t *o;

		if (!(st.dirs & (1 << d)))
			continue;
		o = json_pack("{sIsIsI}", "rate_bytes_per_s", (json_int_t)cfg[d].rate,
			      "rate_bits_per_s", (json_int_t)(cfg[d].rate * 8), "burst_bytes",
			      (json_int_t)cfg[d].burst);
		if (st.mode != FQ_SH_MODE_POLICE && dev[0] &&
		    root_qdisc(dev, kind, sizeof(kind), handle, sizeof(handle), &drops) == 0) {
			json_object_set_new(o, "qdisc", json_string(kind));
			json_object_set_new(o, "qdisc_dev", json_string(dev));
			json_object_set_new(o, "qdisc_drops", json_integer(drops));
		}
		json_object_set_new(dirs, d == FQ_SH_EGRESS ? "egress" : "ingress", o);
	}
	json_object_set_new(root, "directions", dirs);
	buckets = json_array();
	while (bpf_map_get_next_key(bfd, prev, &next) == 0) {
		char ks[160];

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem_flags(bfd, &k, &b, BPF_F_LOCK))
			continue;
		key_str(&k, st.per, ks, sizeof(ks));
		json_array_append_new(
			buckets,
			json_pack("{sssssososo}", "dir", k.dir == FQ_SH_EGRESS ? "egress" : "ingress",
				  "key", ks, "passed", counters_json(b.pkts_pass, b.bytes_pass),
				  "delayed", counters_json(b.pkts_delay, b.bytes_delay), "dropped",
				  counters_json(b.pkts_drop, b.bytes_drop)));
	}
	json_object_set_new(root, "buckets", buckets);
	close(cfd);
	close(bfd);

	if (json) {
		json_dumpf(root, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		const char *dn;
		json_t *o, *bk;
		size_t i;

		printf("%s: mode %s, per %s, programs via %s\n", ifname, mode_names[st.mode],
		       per_names[st.per], att_names[st.attach]);
		json_object_foreach(dirs, dn, o) {
			char r[32];

			rate_str(json_integer_value(json_object_get(o, "rate_bytes_per_s")), r,
				 sizeof(r));
			printf("  %-7s rate %s (%lld bytes/s), burst %lld bytes", dn, r,
			       json_integer_value(json_object_get(o, "rate_bytes_per_s")),
			       json_integer_value(json_object_get(o, "burst_bytes")));
			if (json_object_get(o, "qdisc"))
				printf(", %s on %s dropped %lld", json_string_value(json_object_get(o, "qdisc")),
				       json_string_value(json_object_get(o, "qdisc_dev")),
				       json_integer_value(json_object_get(o, "qdisc_drops")));
			putchar('\n');
		}
		printf("%-7s %-44s %21s %21s %21s\n", "dir", "key", "passed pkts/bytes",
		       "delayed pkts/bytes", "dropped pkts/bytes");
		json_array_foreach(buckets, i, bk) {
			char c[3][48];
			const char *f[3] = { "passed", "delayed", "dropped" };

			for (int x = 0; x < 3; x++) {
				json_t *v = json_object_get(bk, f[x]);

				snprintf(c[x], sizeof(c[x]), "%lld/%lld",
					 json_integer_value(json_object_get(v, "packets")),
					 json_integer_value(json_object_get(v, "bytes")));
			}
			printf("%-7s %-44s %21s %21s %21s\n",
			       json_string_value(json_object_get(bk, "dir")),
			       json_string_value(json_object_get(bk, "key")), c[0], c[1], c[2]);
		}
	}
	json_decref(root);
	return FQ_EXIT_OK;
}

/* ---- shape ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: flowqoe shape IFACE --rate RATE [--burst SIZE] [--dir ingress|egress|both]\n"
		"                     [--per iface|ip|flow] [--mode auto|edt|police|htb] [--classes N]\n"
		"       flowqoe shape IFACE --show [--json]\n"
		"       flowqoe shape IFACE --off\n\n"
		"Limit IFACE's bandwidth with token buckets kept in BPF maps, then exit: the\n"
		"limit stays until --off or `flowqoe detach IFACE`.  Works alone and while\n"
		"`flowqoe attach` runs on IFACE.  Run again with a new --rate/--burst to change\n"
		"the limit in place (a map update; counters are kept).\n\n"
		"  --rate RATE   tc units: bit, kbit, mbit, gbit (10^3 steps), kibit.. (2^10),\n"
		"                bps, kbps, mbps, gbps (BYTES/s); e.g. 250kbit, 2mbit, 1.5mbps\n"
		"  --burst SIZE  bytes the bucket holds: b, k/kb, m/mb (x1024); default\n"
		"                10 ms at the rate, at least two 1514-byte frames\n"
		"  --dir D       egress (default), ingress or both (each its own buckets)\n"
		"  --per P       iface (default): one bucket; ip: one per peer address\n"
		"                (destination on egress, source on ingress); flow: one per\n"
		"                5-tuple.  Each bucket gets the full RATE.\n"
		"  --mode M      auto (default): edt if the kernel has sch_fq, else htb; htb\n"
		"                for --dir ingress alone (fewer TCP retransmits, longer queue);\n"
		"                it says which it picked and why.\n"
		"                edt: the program sets each packet's departure time, an fq\n"
		"                  qdisc holds it until then (ingress: through an ifb device).\n"
		"                police: drop when the bucket is empty (tc, both directions).\n"
		"                  Exact for UDP, but HARMFUL TO TCP: drops instead of queueing\n"
		"                  collapse TCP's throughput far below the rate.\n"
		"                htb: the program steers packets into htb classes of a root\n"
		"                  qdisc (ingress: on an ifb) whose rates flowqoe sets from the\n"
		"                  same settings; the rate change is then also a tc class change.\n"
		"  --classes N   htb with --per ip|flow: keys hash into N leaf classes, each at\n"
		"                RATE (default %d, max %d); colliding keys share one class\n"
		"  --show        settings and per-bucket counters (passed, delayed, dropped)\n"
		"  --off         remove every qdisc, filter, link, ifb device and pin the\n"
		"                shaper added (and nothing else)\n\n"
		"Maps: %s/IFACE/{%s,%s}; see shaper/README.md for the\n"
		"equivalent `bpftool map update` of a rate.  Exit: 0 ok, 1 failure, 2 usage.\n",
		SH_DEFAULT_CLASSES, FQ_SH_MAX_CLASSES, FQ_SH_PIN_ROOT, FQ_SH_MAP_CFG,
		FQ_SH_MAP_BUCKETS);
}

static int pick(const char *s, const char **names, int n)
{
	for (int i = 0; i < n; i++)
		if (names[i][0] && !strcmp(s, names[i]))
			return i;
	return -1;
}

/* Rate change on an existing shaper: map update (+ htb class change). */
static int reconfigure(const char *ifname, const struct sh_state *st, uint64_t rate,
		       uint64_t burst, uint64_t horizon)
{
	char err[1024], r[32];
	int fd = open_pin(ifname, FQ_SH_MAP_CFG);

	if (fd < 0) {
		fq_err("%s: %s is not pinned: run `flowqoe shape %s --off` first", ifname,
		       FQ_SH_MAP_CFG, ifname);
		return FQ_EXIT_FAIL;
	}
	for (__u32 d = 0; d < FQ_SH_NDIR; d++) {
		struct fq_sh_cfg c;

		if (!(st->dirs & (1 << d)))
			continue;
		if (bpf_map_lookup_elem(fd, &d, &c)) {
			fq_err("%s: reading %s: %s", ifname, FQ_SH_MAP_CFG, strerror(errno));
			close(fd);
			return FQ_EXIT_FAIL;
		}
		if (st->mode == FQ_SH_MODE_HTB) {
			static char script[FQ_SH_MAX_CLASSES * 256];

			htb_script(script, sizeof(script), d == FQ_SH_EGRESS ? ifname : st->ifb,
				   "change", rate, burst, st->nclasses);
			if (tc_batch(script, err, sizeof(err))) {
				fq_err("%s: changing htb classes: %s", ifname, err);
				close(fd);
				return FQ_EXIT_FAIL;
			}
		}
		c.rate = rate;
		c.burst = burst;
		c.horizon_ns = horizon;
		if (bpf_map_update_elem(fd, &d, &c, BPF_ANY)) {
			fq_err("%s: updating %s: %s", ifname, FQ_SH_MAP_CFG, strerror(errno));
			close(fd);
			return FQ_EXIT_FAIL;
		}
	}
	close(fd);
	rate_str(rate, r, sizeof(r));
	printf("%s: rate now %s (%llu bytes/s), burst %llu bytes (mode %s, %s)\n", ifname, r,
	       (unsigned long long)rate, (unsigned long long)burst, mode_names[st->mode],
	       dir_names[st->dirs]);
	return FQ_EXIT_OK;
}

int do_shape(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "burst", required_argument, NULL, 'b' },
		{ "dir", required_argument, NULL, 'd' },
		{ "per", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{ "classes", required_argument, NULL, 'c' },
		{ "show", no_argument, NULL, 's' },
		{ "off", no_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ifname = NULL, *rate_s = NULL, *burst_s = NULL;
	int mode = -1, per = -1, dirs = -1, c, ifindex, rc = FQ_EXIT_FAIL, err;
	bool show = false, off = false, json = fq_json, auto_mode;
	uint64_t rate = 0, burst = 0, classes = 0, horizon;
	struct sh_state st = {}, old;
	struct shaper *skel = NULL;
	char pin[256], path[512], why[2048] = "", r[32], ifb[IF_NAMESIZE] = "";
	const char *auto_why = "";
	int ifb_index = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'r': rate_s = optarg; break;
		case 'b': burst_s = optarg; break;
		case 'd':
			dirs = pick(optarg, dir_names, 4);
			if (dirs < 0) {
				fq_err("--dir: '%s' is not ingress, egress or both", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'p':
			per = pick(optarg, per_names, 3);
			if (per < 0) {
				fq_err("--per: '%s' is not iface, ip or flow", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'm':
			mode = pick(optarg, mode_names, 4);
			if (mode < 0) {
				fq_err("--mode: '%s' is not auto, edt, police or htb", optarg);
				return FQ_EXIT_USAGE;
			}
			break;
		case 'c':
			if (fq_parse_u64(optarg, &classes) || classes < 1 ||
			    classes > FQ_SH_MAX_CLASSES) {
				fq_err("--classes: '%s' is not a number from 1 to %d", optarg,
				       FQ_SH_MAX_CLASSES);
				return FQ_EXIT_USAGE;
			}
			break;
		case 's': show = true; break;
		case 'o': off = true; break;
		case 'j': json = fq_json = true; break; /* errors as JSON too */
		case 'h': usage(stdout); return FQ_EXIT_OK;
		default: usage(stderr); return FQ_EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if (ifname) {
			fq_err("unexpected argument '%s'", argv[optind]);
			return FQ_EXIT_USAGE;
		}
		ifname = argv[optind];
	}
	if (!ifname) {
		fq_err("shape: IFACE missing");
		usage(stderr);
		return FQ_EXIT_USAGE;
	}
	if (strlen(ifname) >= IF_NAMESIZE || strchr(ifname, '/')) {
		fq_err("'%s' is not an interface name", ifname);
		return FQ_EXIT_USAGE;
	}
	if (show + off + !!rate_s != 1) {
		fq_err("shape: give exactly one of --rate, --show, --off");
		return FQ_EXIT_USAGE;
	}
	if (!rate_s && (burst_s || mode >= 0 || per >= 0 || dirs >= 0 || classes)) {
		fq_err("shape: --burst, --mode, --per, --dir, --classes go with --rate");
		return FQ_EXIT_USAGE;
	}
	if (rate_s) {
		err = fq_sh_parse_rate(rate_s, &rate);
		if (err) {
			fq_err(err == -ERANGE ? "--rate '%s': out of range (1kbit .. 1tbit)"
					      : "--rate '%s': not a rate (tc units, e.g. 2mbit, 500kbit, 1mbps)",
			       rate_s);
			return FQ_EXIT_USAGE;
		}
		if (burst_s) {
			err = fq_sh_parse_size(burst_s, &burst);
			if (err) {
				fq_err(err == -ERANGE ? "--burst '%s': out of range (64 bytes .. 1 GiB)"
						      : "--burst '%s': not a size (bytes, or k/kb, m/mb)",
				       burst_s);
				return FQ_EXIT_USAGE;
			}
		} else {
			burst = rate / 100;
			if (burst < 2 * 1514)
				burst = 2 * 1514;
		}
		if (classes && (per < 0 || per == FQ_SH_PER_IFACE)) {
			fq_err("--classes: only with --per ip or flow");
			return FQ_EXIT_USAGE;
		}
	}
	/* edt: a packet may wait this long before it is dropped instead;
	 * at least four full frames at low rates */
	horizon = 100000000ULL;
	if (rate && 4ULL * 1514 * 1000000000ULL / rate > horizon)
		horizon = 4ULL * 1514 * 1000000000ULL / rate;

	if (geteuid() != 0) {
		fq_err("shape needs root: run it with sudo");
		return FQ_EXIT_FAIL;
	}
	if (off) {
		int n;

		if (!if_nametoindex(ifname) && state_read(ifname, &old)) {
			fq_err("%s: no such interface", ifname);
			return FQ_EXIT_FAIL;
		}
		n = fq_shaper_teardown(ifname);
		if (json)
			printf("{\"iface\":\"%s\",\"removed\":%d}\n", ifname, n);
		else
			printf("%s: removed %d shaper object%s\n", ifname, n, n == 1 ? "" : "s");
		return FQ_EXIT_OK;
	}
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fq_err("%s: no such interface (in this network namespace)", ifname);
		return FQ_EXIT_FAIL;
	}
	if (show)
		return do_show(ifname, json);

	/* a shaper already there: only rate/burst may change */
	sh_pin_dir(pin, sizeof(pin), ifname);
	if (state_read(ifname, &old) == 0) {
		if ((mode > 0 && mode != old.mode) || (per >= 0 && per != old.per) ||
		    (dirs > 0 && dirs != old.dirs) || (classes && classes != old.nclasses)) {
			fq_err("%s: a shaper is already there (mode %s, %s, per %s); only --rate and "
			       "--burst can change in place: run `flowqoe shape %s --off` first",
			       ifname, mode_names[old.mode], dir_names[old.dirs], per_names[old.per],
			       ifname);
			return FQ_EXIT_FAIL;
		}
		return reconfigure(ifname, &old, rate, burst, horizon);
	}
	if (access(pin, F_OK) == 0) {
		fq_err("%s: shaper pins exist in %s from an earlier run: run `flowqoe shape %s --off`",
		       ifname, pin, ifname);
		return FQ_EXIT_FAIL;
	}

	/* tests force the pre-6.6 path (clsact filters) on newer kernels */
	if (getenv("FLOWQOE_SHAPER_CLSACT"))
		st.attach = SH_ATT_CLSACT;
	st.dirs = dirs > 0 ? dirs : SH_DIR_EGRESS;
	st.per = per >= 0 ? per : FQ_SH_PER_IFACE;
	auto_mode = mode <= 0;
	st.mode = auto_mode ? FQ_SH_MODE_EDT : mode;
	st.nclasses = st.per == FQ_SH_PER_IFACE ? 1 : classes ? classes : SH_DEFAULT_CLASSES;
	if (auto_mode)
		auto_why = "sch_fq is available, so edt (TCP meets a queue, the rate is a map "
			   "value)";
	/*
	 * Ingress alone: htb.  On ingress the shaper sees the sender's GSO
	 * packets whole (veth, GRO), and edt's one way to bound its queue is
	 * to drop one, which the sender retransmits as all its segments; htb's
	 * queue takes them (measured in Debian's 6.1 guest, bench/shaper_vm.sh,
	 * 0.25-10 Mbit/s: edt 203 retransmits, tbf 104, htb 15; htb's price is
	 * a longer queue: ping 130-1030 ms against edt's 43-96).
	 */
	if (auto_mode && st.dirs == SH_DIR_INGRESS) {
		st.mode = FQ_SH_MODE_HTB;
		auto_why = "ingress only, so htb: edt could bound its queue only by dropping "
			   "whole GSO packets, each retransmitted as all its segments (--mode edt "
			   "for a shorter queue)";
	}
	if (st.mode != FQ_SH_MODE_HTB)
		st.nclasses = 1;

	/* the user's root qdisc on IFACE stays: refuse instead of replacing it */
	if ((st.dirs & SH_DIR_EGRESS) && st.mode != FQ_SH_MODE_POLICE) {
		char kind[32], handle[32];

		if (root_qdisc(ifname, kind, sizeof(kind), handle, sizeof(handle), NULL)) {
			fq_err("%s: cannot read its qdiscs (is tc installed?)", ifname);
			return FQ_EXIT_FAIL;
		}
		if (strcmp(handle, "0:") && strcmp(kind, "noqueue")) {
			fq_err("%s: has a root qdisc '%s' (handle %s) that flowqoe will not replace: "
			       "remove it, or use --mode police or --dir ingress",
			       ifname, kind, handle);
			return FQ_EXIT_FAIL;
		}
	}
	if ((st.dirs & SH_DIR_INGRESS) && st.mode != FQ_SH_MODE_POLICE) {
		sh_ifb_name(ifb, sizeof(ifb), ifindex);
		if (link_exists(ifb)) {
			fq_err("%s: device %s already exists (a stale shaper?): run `flowqoe shape "
			       "%s --off`",
			       ifname, ifb, ifname);
			return FQ_EXIT_FAIL;
		}
	}
	err = fq_bpffs_ensure();
	if (err) {
		fq_err("no bpf filesystem on /sys/fs/bpf: %s", strerror(-err));
		return FQ_EXIT_FAIL;
	}
	mkdir(FQ_SH_PIN_ROOT, 0700);
	if (mkdir(pin, 0700)) {
		fq_err("cannot create %s: %s", pin, strerror(errno));
		return FQ_EXIT_FAIL;
	}

	/* from here on, every failure undoes what was done */
	{
		LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin);

		skel = shaper__open_opts(&oo);
		if (!skel) {
			fq_err("opening the shaper BPF object: %s", strerror(errno));
			goto fail;
		}
	}
	err = shaper__load(skel);
	if (err) {
		fq_err("loading the shaper BPF programs: %s (%s; -vv shows the verifier log)",
		       strerror(-err), fq_libbpf_last_warning());
		goto fail;
	}
	if (ifb[0]) {
		char *add[] = { "ip", "link", "add", "name", ifb, "txqueuelen", "1000", "type", "ifb", NULL };
		char *up[] = { "ip", "link", "set", "dev", ifb, "up", NULL };

		if (run_tool(add, NULL, why, sizeof(why)) || run_tool(up, NULL, why, sizeof(why))) {
			fq_err("%s: creating ifb device %s: %s", ifname, ifb, why);
			goto fail;
		}
		snprintf(st.ifb, sizeof(st.ifb), "%s", ifb);
		ifb_index = if_nametoindex(ifb);
	}
	/* root qdiscs; auto falls back from edt to htb when fq is unknown,
	 * which the first qdisc we create tells */
	for (int d = 0, first = 1; d < FQ_SH_NDIR; d++) {
		const char *dev = d == FQ_SH_EGRESS ? ifname : ifb;

		if (!(st.dirs & (1 << d)) || st.mode == FQ_SH_MODE_POLICE)
			continue;
		err = root_setup(dev, st.mode, rate, burst, st.nclasses, why, sizeof(why));
		if (err == -ENOENT && st.mode == FQ_SH_MODE_EDT && auto_mode && first) {
			fq_dbg("fq: %s", why);
			auto_why = "sch_fq is not available in this kernel (tc: \"qdisc kind is "
				   "unknown\"), so htb: TCP still meets a queue";
			st.mode = FQ_SH_MODE_HTB;
			st.nclasses = st.per == FQ_SH_PER_IFACE ? 1 : classes ? classes : SH_DEFAULT_CLASSES;
			err = root_setup(dev, st.mode, rate, burst, st.nclasses, why, sizeof(why));
		}
		if (err == -ENOENT && st.mode == FQ_SH_MODE_EDT) {
			fq_err("%s: --mode edt needs the fq qdisc (sch_fq), which this kernel lacks: "
			       "use --mode htb (or auto)", ifname);
			goto fail;
		}
		if (err) {
			fq_err("%s: setting up the %s qdisc on %s: %s", ifname, mode_names[st.mode],
			       dev, why);
			goto fail;
		}
		if (d == FQ_SH_EGRESS)
			st.root_qdisc = 1;
		first = 0;
	}

	/* the limits, before any program sees a packet */
	for (__u32 d = 0; d < FQ_SH_NDIR; d++) {
		struct fq_sh_cfg cfg = {};

		if (st.dirs & (1 << d)) {
			cfg.rate = rate;
			cfg.burst = burst;
			cfg.horizon_ns = horizon;
			cfg.mode = st.mode;
			cfg.per = st.per;
			cfg.nclasses = st.nclasses;
			cfg.htb_major = SH_QDISC_MAJOR;
			cfg.ifb_ifindex = d == FQ_SH_INGRESS ? ifb_index : 0;
		}
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.fq_sh_cfg), &d, &cfg, BPF_ANY)) {
			fq_err("writing %s: %s", FQ_SH_MAP_CFG, strerror(errno));
			goto fail;
		}
	}
	/* ifb first, so nothing is redirected to an unshaped ifb */
	if (ifb_index) {
		snprintf(path, sizeof(path), "%s/link_ifb", pin);
		if (attach_prog(ifb_index, bpf_program__fd(skel->progs.fq_sh_ifb), false, true, path, &st))
			goto fail;
	}
	if (st.dirs & SH_DIR_EGRESS) {
		snprintf(path, sizeof(path), "%s/link_egress", pin);
		if (attach_prog(ifindex, bpf_program__fd(skel->progs.fq_sh_egress), false, false, path, &st))
			goto fail;
	}
	if ((st.dirs & SH_DIR_INGRESS) && ifb_index && st.attach == SH_ATT_CLSACT) {
		if (mirred_redirect(ifindex, ifname, ifb, &st))
			goto fail;
	} else if (st.dirs & SH_DIR_INGRESS) {
		snprintf(path, sizeof(path), "%s/link_ingress", pin);
		if (attach_prog(ifindex, bpf_program__fd(skel->progs.fq_sh_ingress), true, false, path, &st))
			goto fail;
	}
	if (state_write(ifname, &st)) {
		fq_err("writing the state file in %s: %s", FQ_RUN_DIR, strerror(errno));
		goto fail;
	}
	shaper__destroy(skel);

	rate_str(rate, r, sizeof(r));
	if (json) {
		json_t *o = json_pack("{sssssssssIsIss}", "iface", ifname, "mode",
				      mode_names[st.mode], "dir", dir_names[st.dirs], "per",
				      per_names[st.per], "attach", att_names[st.attach],
				      "rate_bytes_per_s", (json_int_t)rate, "burst_bytes",
				      (json_int_t)burst, "ifb", ifb);

		if (auto_mode)
			json_object_set_new(o, "auto", json_string(auto_why));
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: shaping %s at %s (%llu bytes/s), burst %llu bytes, per %s, mode %s%s%s\n",
		       ifname, dir_names[st.dirs], r, (unsigned long long)rate,
		       (unsigned long long)burst, per_names[st.per], mode_names[st.mode],
		       ifb[0] ? ", ingress via " : "", ifb);
		if (auto_mode)
			printf("%s: --mode auto picked %s: %s\n", ifname, mode_names[st.mode], auto_why);
	}
	if (st.mode == FQ_SH_MODE_POLICE && fq_verbosity >= FQ_LOG_WARN)
		fq_warn("police drops instead of queueing: fine for UDP, TCP will fall well below "
			"the rate");
	return FQ_EXIT_OK;
fail:
	teardown(ifname, &st);
	if (skel)
		shaper__destroy(skel);
	return rc;
}
