// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Model loader and predictor (user/model.c): hand-written models with
 * known predictions (threshold equality in float32, NaN routing, forest
 * averaging and first-maximum ties), batch = row by row, and the loader's
 * refusals: every malformed, truncated or inconsistent file written here
 * must fail with the expected reason, never crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testlib.h"
#include "model.h"

/* Two features, three classes.  Tree 0 splits "pkt count" at 2.5 then
 * size at 0.1 (not a float: 0.1f > 0.1, so x = 0.1f goes right); tree 1
 * is one split on size at 100 with NaN sent left. */
static const char forest_txt[] =
	"flowqoe-model 1\n"
	"# comment lines and blank lines are allowed\n"
	"\n"
	"estimator RandomForestClassifier\n"
	"task classification\n"
	"combine mean\n"
	"features 2 named\n"
	"f pkt%20count\n"
	"f size\n"
	"classes 3\n"
	"c a\n"
	"c b\n"
	"c c%25\n"
	"trees 2\n"
	"tree 5\n"
	"s 1 2 0 0x1.4p+1 0\n"          /* pkt count <= 2.5 */
	"l 0x1p+0 0x0p+0 0x0p+0\n"      /* a */
	"s 3 4 1 0x1.999999999999ap-4 1\n" /* size <= 0.1 (double) */
	"l 0x0p+0 0x1p+0 0x0p+0\n"      /* b */
	"l 0x0p+0 0x0p+0 0x1p+0\n"      /* c */
	"tree 3\n"
	"s 1 2 1 100 1\n"
	"l 0x0p+0 0x1p+0 0x0p+0\n"      /* b */
	"l 0x0p+0 0x0p+0 0x1p+0\n"      /* c */
	"end\n";

static struct fq_model *parse(const char *s, char *err, size_t n)
{
	return fq_model_parse(s, strlen(s), err, n);
}

static void test_predict(void)
{
	const char *name = "model_predict";
	char err[256];
	struct fq_model *m = parse(forest_txt, err, sizeof(err));
	double sc[3];

	if (!TL_CHECK(name, m, "valid model refused: %s", err))
		return;
	int ok = 1;

	ok &= TL_CHECK(name, fq_model_nfeatures(m) == 2 && fq_model_nclasses(m) == 3 &&
				     fq_model_ntrees(m) == 2, "counts");
	ok &= TL_CHECK(name, !strcmp(fq_model_feature_name(m, 0), "pkt count") &&
				     !strcmp(fq_model_class_name(m, 2), "c%"),
		       "names not decoded: '%s' '%s'", fq_model_feature_name(m, 0),
		       fq_model_class_name(m, 2));
	ok &= TL_CHECK(name, fq_model_feature_index(m, "size") == 1 &&
				     fq_model_feature_index(m, "nope") == -1, "feature_index");
	/* (pkts, size) -> tree0 leaf, tree1 leaf -> mean -> argmax */
	struct {
		float x[2];
		int want;
	} cases[] = {
		{ { 2.5f, 50 }, 0 },     /* a + b: tie 0.5/0.5 -> first (a) */
		{ { 2.5f, 500 }, 0 },    /* a + c: tie -> a */
		{ { 3, 0.1f }, 2 },      /* 0.1f > 0.1: c + b... */
		{ { 3, 0.09f }, 1 },     /* b + b */
		{ { 3, 150 }, 2 },       /* c + c */
		{ { 3, NAN }, 1 },       /* NaN: left in both trees: b + b */
		{ { NAN, 150 }, 2 },     /* NaN pkts: tree 0 right (flag 0) -> c + c */
		{ { -INFINITY, 1e30f }, 0 },
	};
	cases[2].want = 1; /* c (tree0) + b (tree1, 0.1 <= 100): tie b/c -> b */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = fq_model_predict(m, cases[i].x);

		ok &= TL_CHECK(name, got == cases[i].want, "case %zu: got %d, want %d", i, got,
			       cases[i].want);
	}
	fq_model_predict_scores(m, cases[0].x, sc);
	ok &= TL_CHECK(name, sc[0] == 0.5 && sc[1] == 0.5 && sc[2] == 0, "scores %g %g %g", sc[0],
		       sc[1], sc[2]);
	if (ok)
		TL_OK(name);
	fq_model_free(m);
}

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint64_t xr(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random forest of random trees in the format, built here. */
static char *random_forest(int ntrees, int nf, int ncls, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	fprintf(f, "flowqoe-model 1\nestimator X\ntask classification\ncombine mean\n"
		   "features %d positional\n", nf);
	for (int i = 0; i < nf; i++)
		fprintf(f, "f x%d\n", i);
	fprintf(f, "classes %d\n", ncls);
	for (int k = 0; k < ncls; k++)
		fprintf(f, "c k%d\n", k);
	fprintf(f, "trees %d\n", ntrees);
	for (int t = 0; t < ntrees; t++) {
		/* complete tree of depth d: splits 0..2^d-2, leaves after */
		int d = 1 + xr() % 6, n = (1 << (d + 1)) - 1, nsplit = (1 << d) - 1;

		fprintf(f, "tree %d\n", n);
		for (int i = 0; i < n; i++) {
			if (i < nsplit) {
				fprintf(f, "s %d %d %d %a %d\n", 2 * i + 1, 2 * i + 2,
					(int)(xr() % nf), (double)(int)(xr() % 200) / 8 - 12,
					(int)(xr() & 1));
				continue;
			}
			fputc('l', f);
			for (int k = 0; k < ncls; k++)
				fprintf(f, " %a", (double)(xr() % 4) / 4);
			fputc('\n', f);
		}
	}
	fprintf(f, "end\n");
	fclose(f);
	return buf;
}

static void test_batch(void)
{
	const char *name = "model_batch_equals_rows";
	size_t len, n = 1000;
	char err[256], *txt = random_forest(37, 5, 4, &len);
	struct fq_model *m = fq_model_parse(txt, len, err, sizeof(err));
	float *X = malloc(n * 5 * sizeof(float));
	int *cls = malloc(n * sizeof(int)), diff = 0;
	double *val = malloc(n * sizeof(double));

	if (!TL_CHECK(name, m, "random forest refused: %s", err))
		goto out;
	for (size_t i = 0; i < n * 5; i++)
		X[i] = (xr() % 10 == 0) ? NAN : (float)((int)(xr() % 220) - 110) / 8;
	fq_model_predict_batch(m, X, n, cls, val);
	for (size_t i = 0; i < n; i++)
		diff += cls[i] != fq_model_predict(m, X + i * 5) || val[i] != cls[i];
	if (TL_CHECK(name, diff == 0, "%d of %zu rows differ", diff, n))
		TL_OK(name);
out:
	fq_model_free(m);
	free(txt);
	free(X);
	free(cls);
	free(val);
}

/* Replace the first occurrence of `from` in forest_txt by `to`. */
static char *edit(const char *from, const char *to)
{
	const char *p = strstr(forest_txt, from);
	size_t a, n;
	char *r;

	if (!p)
		return NULL;
	a = p - forest_txt;
	n = strlen(forest_txt) - strlen(from) + strlen(to);
	r = malloc(n + 1);
	memcpy(r, forest_txt, a);
	strcpy(r + a, to);
	strcat(r, p + strlen(from));
	return r;
}

static void test_refusals(const char *dir)
{
	static const struct {
		const char *name, *from, *to, *why;
	} bad[] = {
		{ "magic", "flowqoe-model 1", "flowqoe-modle 1", "not a flowqoe model" },
		{ "version", "flowqoe-model 1", "flowqoe-model 2", "unsupported model format version" },
		{ "task", "task classification", "task clustering", "neither classification" },
		{ "combine", "combine mean", "combine vote", "neither single nor mean" },
		{ "single_two_trees", "combine mean", "combine single", "combine single with 2 trees" },
		{ "feature_count_zero", "features 2 named", "features 0 named", "feature count 0 out of range" },
		{ "feature_lines_short", "features 2 named", "features 3 named", "expected 'f'" },
		{ "feature_index", "s 1 2 1 100 1", "s 1 2 2 100 1", "feature 2 out of range" },
		{ "feature_negative", "s 1 2 1 100 1", "s 1 2 -1 100 1", "feature -1 out of range" },
		{ "child_out_of_range", "s 1 2 1 100 1", "s 1 3 1 100 1", "right child 3 out of range" },
		{ "child_self_cycle", "s 1 2 1 100 1", "s 0 2 1 100 1", "left child 0 out of range" },
		{ "child_backward_cycle", "s 3 4 1 0x1.999999999999ap-4 1", "s 1 4 1 0x1.999999999999ap-4 1",
		  "left child 1 out of range" },
		{ "same_children", "s 1 2 1 100 1", "s 1 1 1 100 1", "both children are node 1" },
		{ "two_parents", "s 1 2 0 0x1.4p+1 0", "s 1 3 0 0x1.4p+1 0", "node 3 already has a parent" },
		{ "nan_threshold", "s 1 2 1 100 1", "s 1 2 1 nan 1", "threshold is NaN" },
		{ "nan_threshold_hex", "s 1 2 1 100 1", "s 1 2 1 -NAN 1", "threshold is NaN" },
		{ "threshold_junk", "s 1 2 1 100 1", "s 1 2 1 100x 1", "is not a number" },
		{ "missing_flag", "s 1 2 1 100 1", "s 1 2 1 100 2", "missing-left flag 2 out of range" },
		{ "split_fields", "s 1 2 1 100 1", "s 1 2 1 100", "split node wants 5 fields" },
		{ "leaf_inf", "l 0x0p+0 0x0p+0 0x1p+0\ntree", "l 0x0p+0 0x0p+0 inf\ntree", "leaf value is infinite" },
		{ "leaf_nan", "l 0x1p+0 0x0p+0 0x0p+0", "l nan 0x0p+0 0x0p+0", "leaf value is NaN" },
		{ "leaf_negative", "l 0x1p+0 0x0p+0 0x0p+0", "l -0x1p+0 0x0p+0 0x0p+0", "negative class score" },
		{ "leaf_class_count", "l 0x1p+0 0x0p+0 0x0p+0", "l 0x1p+0 0x0p+0", "leaf wants 3 value(s), found 2" },
		{ "node_kind", "l 0x1p+0 0x0p+0 0x0p+0", "x 0x1p+0 0x0p+0 0x0p+0", "expected a node" },
		{ "orphan", "tree 3\ns 1 2 1 100 1\n", "tree 4\ns 1 2 1 100 1\nl 0 0 1\n", "node 3 has no parent" },
		{ "tree_count_short", "trees 2", "trees 3", "expected 'tree', found 'end'" },
		{ "tree_count_huge", "trees 2", "trees 100000000", "tree count 100000000 out of range" },
		{ "node_count_huge", "tree 5", "tree 99999999999", "node count" },
		{ "nodes_short", "tree 3", "tree 4", "expected a node" },
		{ "after_end", "end\n", "end\nextra\n", "data after 'end'" },
		{ "no_end", "end\n", "", "truncated" },
		{ "dup_feature", "f size", "f pkt%20count", "duplicate name 'pkt count'" },
		{ "dup_class", "c b", "c a", "duplicate name 'a'" },
		{ "bad_escape", "f size", "f si%2", "bad %-escape" },
		{ "nul_escape", "f size", "f s%00", "bad %-escape" },
		{ "classes_zero", "classes 3", "classes 0", "class count 0 out of range" },
		{ "nul_byte", "c a\n", "c a\n\0", NULL }, /* handled below */
	};
	char path[512], err[256];
	int nfail = 0;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char tn[128];
		char *txt = edit(bad[i].from, bad[i].to);
		struct fq_model *m;
		FILE *f;

		snprintf(tn, sizeof(tn), "model_refuses_%s", bad[i].name);
		if (!bad[i].why) {
			/* an embedded NUL: through the file loader */
			size_t n = strlen(forest_txt);

			snprintf(path, sizeof(path), "%s/nul.model", dir);
			f = fopen(path, "w");
			fwrite(forest_txt, 1, 20, f);
			fputc('\0', f);
			fwrite(forest_txt + 20, 1, n - 20, f);
			fclose(f);
			m = fq_model_load(path, err, sizeof(err));
			if (TL_CHECK(tn, !m && strstr(err, "NUL byte") && strstr(err, path),
				     "loaded=%d err='%s'", !!m, err))
				TL_OK(tn);
			fq_model_free(m);
			free(txt);
			continue;
		}
		if (!TL_CHECK(tn, txt, "test bug: '%s' not in the model", bad[i].from)) {
			nfail++;
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.model", dir, bad[i].name);
		f = fopen(path, "w");
		fputs(txt, f);
		fclose(f);
		m = fq_model_load(path, err, sizeof(err));
		if (TL_CHECK(tn, !m && strstr(err, bad[i].why) && !strncmp(err, path, strlen(path)),
			     "loaded=%d, err='%s', want '%s'", !!m, err, bad[i].why))
			TL_OK(tn);
		else
			nfail++;
		fq_model_free(m);
		free(txt);
	}

	/* every proper prefix of a valid file is refused (the last newline
	 * is optional, so prefixes stop before "end") */
	const char *name = "model_refuses_every_truncation";
	size_t n = strlen(forest_txt), bad_prefix = 0, first = 0;

	for (size_t k = 0; k + 1 < n; k++) {
		struct fq_model *m = fq_model_parse(forest_txt, k, err, sizeof(err));

		if (m || !err[0]) {
			if (!bad_prefix++)
				first = k;
		}
		fq_model_free(m);
	}
	if (TL_CHECK(name, bad_prefix == 0, "%zu prefixes loaded (first: %zu bytes)", bad_prefix, first))
		TL_OK(name);

	name = "model_load_missing_file";
	snprintf(path, sizeof(path), "%s/absent.model", dir);
	struct fq_model *m = fq_model_load(path, err, sizeof(err));

	if (TL_CHECK(name, !m && strstr(err, "No such file"), "err='%s'", err))
		TL_OK(name);
	fq_model_free(m);
	name = "model_load_directory";
	m = fq_model_load(dir, err, sizeof(err));
	if (TL_CHECK(name, !m && strstr(err, "not a regular file"), "err='%s'", err))
		TL_OK(name);
	fq_model_free(m);
}

/* Random byte edits of valid models: the loader accepts or refuses, and
 * whatever it accepts predicts classes in range (ASan/valgrind/fuzz
 * catch the rest; this is the cheap always-on version). */
static void test_mutations(void)
{
	const char *name = "model_mutations_never_crash";
	static const char alphabet[] = "0123456789 \n-+.xpaefinlst%#";
	size_t len;
	char *base = random_forest(3, 3, 3, &len), err[256];
	long accepted = 0, bad = 0;

	for (int it = 0; it < 20000; it++) {
		char *b = malloc(len + 1);
		size_t l = len;

		memcpy(b, base, len);
		for (int e = 1 + xr() % 3; e > 0; e--) {
			size_t pos = xr() % l;

			switch (xr() % 3) {
			case 0: b[pos] = alphabet[xr() % (sizeof(alphabet) - 1)]; break;
			case 1: l = pos; break;                    /* truncate */
			default: b[pos] = (char)(xr() & 0xff); break;
			}
			if (!l)
				break;
		}
		struct fq_model *m = fq_model_parse(b, l, err, sizeof(err));

		if (m) {
			float x[3];

			accepted++;
			for (int r = 0; r < 50; r++) {
				for (int j = 0; j < 3; j++)
					x[j] = (float)((int)(xr() % 400) - 200) / 8;
				int c = fq_model_predict(m, x);

				bad += c < 0 || c >= fq_model_nclasses(m) ||
				       fq_model_nfeatures(m) != 3;
			}
		} else {
			bad += !err[0];
		}
		fq_model_free(m);
		free(b);
	}
	if (TL_CHECK(name, bad == 0, "%ld bad outcomes (%ld accepted)", bad, accepted))
		TL_OK(name);
	free(base);
}

int main(void)
{
	char dir[] = "/tmp/fq-test-model.XXXXXX";

	if (!mkdtemp(dir)) {
		TL_FAIL("model_tmpdir", "mkdtemp failed");
		return tl_exit();
	}
	test_predict();
	test_batch();
	test_refusals(dir);
	test_mutations();
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		TL_FAIL("model_cleanup", "%s failed", cmd);
	return tl_exit();
}
