/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef FQ_COMMON_H
#define FQ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum fq_log_level { FQ_LOG_ERROR = 0, FQ_LOG_WARN, FQ_LOG_INFO, FQ_LOG_DEBUG };

extern int fq_verbosity; /* -v raises it; libbpf is quiet unless >= DEBUG */
extern bool fq_json;     /* -j/--json: errors are JSON objects too */

void fq_log(enum fq_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define fq_err(...) fq_log(FQ_LOG_ERROR, __VA_ARGS__)
#define fq_warn(...) fq_log(FQ_LOG_WARN, __VA_ARGS__)
#define fq_info(...) fq_log(FQ_LOG_INFO, __VA_ARGS__)
#define fq_dbg(...) fq_log(FQ_LOG_DEBUG, __VA_ARGS__)

/* Route libbpf's messages through fq_log; the last warning libbpf printed
 * (often the kernel's extack reason) is kept for error messages. */
void fq_libbpf_setup(void);
const char *fq_libbpf_last_warning(void);
void fq_libbpf_clear_warning(void);

/* Exit codes, stable for scripts. */
enum {
	FQ_EXIT_OK = 0,
	FQ_EXIT_FAIL = 1,  /* runtime failure */
	FQ_EXIT_USAGE = 2, /* bad arguments */
};

/* Parsing helpers: return 0 or -EINVAL. */
int fq_parse_u64(const char *s, uint64_t *out);
int fq_parse_double(const char *s, double *out);

/* CLOCK_REALTIME - CLOCK_MONOTONIC, in ns: converts bpf_ktime_get_ns()
 * values to Unix epoch. */
int64_t fq_mono_to_epoch_offset(void);
uint64_t fq_now_mono_ns(void);

/* Paths of an interface's pins and run-state file. */
void fq_pin_dir(char *buf, size_t len, const char *ifname);
void fq_state_path(char *buf, size_t len, const char *ifname);
#define FQ_RUN_DIR "/run/flowqoe"

/* Format a 16-byte (IPv4-mapped for family 4) address. */
void fq_addr_str(const uint8_t addr[16], int family, char *buf, size_t len);
/* Parse an IPv4 or IPv6 address into the 16-byte form; returns family or -1. */
int fq_addr_parse(const char *s, uint8_t addr[16]);

/* Every subcommand has this signature; argv[0] is the subcommand's name. */
typedef int (*fq_cmd_fn)(int argc, char **argv);

#endif
