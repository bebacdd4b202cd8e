// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "flowqoe.h"

int fq_verbosity = FQ_LOG_WARN;
bool fq_json;

static const char *lvl_name[] = { "error", "warning", "info", "debug" };

void fq_log(enum fq_log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if ((int)lvl > fq_verbosity)
		return;
	va_start(ap, fmt);
	if (fq_json && lvl == FQ_LOG_ERROR) {
		char msg[1024];
		char *p;

		vsnprintf(msg, sizeof(msg), fmt, ap);
		fputs("{\"error\":\"", stderr);
		for (p = msg; *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', stderr);
			if (*p == '\n')
				continue;
			fputc((unsigned char)*p < 0x20 ? ' ' : *p, stderr);
		}
		fputs("\"}\n", stderr);
	} else {
		fprintf(stderr, "flowqoe: %s: ", lvl_name[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

static char last_warning[512];

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN) {
		va_list aq;
		size_t n;

		va_copy(aq, ap);
		vsnprintf(last_warning, sizeof(last_warning), fmt, aq);
		va_end(aq);
		n = strlen(last_warning);
		while (n && last_warning[n - 1] == '\n')
			last_warning[--n] = 0;
	}
	if (fq_verbosity < FQ_LOG_DEBUG)
		return 0;
	if (level == LIBBPF_DEBUG && fq_verbosity < FQ_LOG_DEBUG + 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void fq_libbpf_setup(void)
{
	libbpf_set_print(libbpf_print);
}

const char *fq_libbpf_last_warning(void)
{
	return last_warning[0] ? last_warning : "no reason given";
}

void fq_libbpf_clear_warning(void)
{
	last_warning[0] = 0;
}

int fq_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int fq_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v != v)
		return -EINVAL;
	*out = v;
	return 0;
}

static int64_t ts_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

uint64_t fq_now_mono_ns(void)
{
	return ts_ns(CLOCK_MONOTONIC);
}

int64_t fq_mono_to_epoch_offset(void)
{
	/* bracket the realtime read to halve the error */
	int64_t m1 = ts_ns(CLOCK_MONOTONIC);
	int64_t r = ts_ns(CLOCK_REALTIME);
	int64_t m2 = ts_ns(CLOCK_MONOTONIC);

	return r - (m1 + (m2 - m1) / 2);
}

void fq_pin_dir(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s", FQ_PIN_ROOT, ifname);
}

void fq_state_path(char *buf, size_t len, const char *ifname)
{
	snprintf(buf, len, "%s/%s.state", FQ_RUN_DIR, ifname);
}

void fq_addr_str(const uint8_t addr[16], int family, char *buf, size_t len)
{
	if (family == 4)
		inet_ntop(AF_INET, addr + 12, buf, len);
	else
		inet_ntop(AF_INET6, addr, buf, len);
}

int fq_addr_parse(const char *s, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr + 12) == 1) {
		addr[10] = addr[11] = 0xff;
		return 4;
	}
	if (inet_pton(AF_INET6, s, addr) == 1)
		return 6;
	return -1;
}
