/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Minimal test reporting shared by every C test program.  Each check prints
 * "ok NAME" or "not ok NAME: why"; tests/run counts those lines.  A test
 * that cannot run here prints "skip NAME: why".  The program exits non-zero
 * if any check failed.
 */
#ifndef FQ_TESTLIB_H
#define FQ_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

static int tl_failed, tl_passed;

#define TL_OK(name) (printf("ok %s\n", (name)), tl_passed++)
#define TL_FAIL(name, ...)                                                  \
	do {                                                                \
		printf("not ok %s: ", (name));                              \
		printf(__VA_ARGS__);                                        \
		printf("\n");                                               \
		tl_failed++;                                                \
	} while (0)
#define TL_SKIP(name, why) printf("skip %s: %s\n", (name), (why))

/* Assert inside a named test; on failure records it and returns 0. */
#define TL_CHECK(name, cond, ...)                                           \
	({                                                                  \
		int _c = !!(cond);                                          \
		if (!_c)                                                    \
			TL_FAIL(name, __VA_ARGS__);                         \
		_c;                                                         \
	})

#define TL_EQ_U64(name, what, got, want)                                    \
	TL_CHECK(name, (unsigned long long)(got) == (unsigned long long)(want), \
		 "%s: got %llu, want %llu", what, (unsigned long long)(got),    \
		 (unsigned long long)(want))

/* xorshift64: a reproducible stream for generated inputs (seed != 0) */
static inline uint64_t tl_xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline int tl_exit(void)
{
	fflush(stdout);
	return tl_failed ? 1 : 0;
}

#endif
