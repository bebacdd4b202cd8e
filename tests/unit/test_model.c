// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Model loader and predictor (user/model.c): hand-written models with
 * known predictions (threshold equality in float32, NaN routing, forest
 * averaging and first-maximum ties), batch = row by row, the compiled
 * prediction layout against a plain walk of the trees as loaded (random
 * shapes, thresholds and rows at float edges, NaN), the loader's refusals
 * (every malformed, truncated or inconsistent file written here must fail
 * with the expected reason, never crash), and every allocation failure
 * during a load: refused as out of memory, nothing leaked.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
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
static uint64_t xr(void) { return tl_xorshift(&rng); }

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

/* ---- the compiled layout against the trees as loaded -------------------- */

/* scikit-learn's walk, written out plainly over fq_model_tree_node (the
 * nodes as the file gave them, not the prediction layout): the oracle. */
static void ref_scores(const struct fq_model *m, const float *x, bool mean, double *out)
{
	int nt = fq_model_ntrees(m), no = fq_model_nclasses(m) ? fq_model_nclasses(m) : 1;
	struct fq_model_node nd;

	for (int k = 0; k < no; k++)
		out[k] = 0;
	for (int t = 0; t < nt; t++) {
		int n = 0;

		for (;;) {
			fq_model_tree_node(m, t, n, &nd);
			if (nd.feature < 0)
				break;
			float v = x[nd.feature];
			bool left = isnan(v) ? nd.missing_left : (double)v <= nd.threshold;

			n = left ? nd.left : nd.right;
		}
		for (int k = 0; k < no; k++)
			out[k] += nd.value[k];
	}
	if (mean)
		for (int k = 0; k < no; k++)
			out[k] /= nt;
}

static int ref_argmax(const double *v, int n)
{
	int b = 0;

	for (int k = 1; k < n; k++)
		if (v[k] > v[b])
			b = k;
	return b;
}

struct gnode {
	int feat, l, r, miss;
	double thr;
};

/* Thresholds where float rounding matters: not floats (0.1), beyond the
 * float range, below its smallest subnormal, infinite. */
static double gen_thr(void)
{
	static const double odd[] = { 0.1, -0.1, 1e39, -1e39, 1e-46, -1e-46, 0.0,
				      3.4028235677973366e38, -3.4028235677973366e38,
				      INFINITY, -INFINITY, 2.5000000000000004 };

	if (xr() % 4 == 0)
		return odd[xr() % (sizeof(odd) / sizeof(odd[0]))];
	return (double)(int)(xr() % 64) / 8 - 4;
}

/* Values on those thresholds and next to them, float extremes, NaN. */
static float gen_x(bool nan)
{
	static const float odd[] = { 0.1f, -0.1f, 0.0f, -0.0f, FLT_MAX, -FLT_MAX, INFINITY,
				     -INFINITY, 1e-45f, -1e-45f, FLT_MIN, 2.5f, 1e30f, -1e30f };
	float v;

	if (nan && xr() % 6 == 0)
		return NAN;
	if (xr() % 3 == 0) {
		v = odd[xr() % (sizeof(odd) / sizeof(odd[0]))];
		switch (xr() % 3) {
		case 0: return nextafterf(v, INFINITY);
		case 1: return nextafterf(v, -INFINITY);
		default: return v;
		}
	}
	return (float)(int)(xr() % 72) / 8 - 4.5f;
}

/* A random tree in preorder, children in either order (so the loaded
 * order is not the layout's breadth-first order); chain: every split has
 * one leaf child, for paths far longer than the average. */
static int gen_tree(struct gnode *g, int *cnt, int cap, int depth, int maxd, bool chain, int nf)
{
	int i = (*cnt)++;
	bool split = depth < maxd && *cnt + 2 <= cap && (chain || depth < 2 || xr() % 5);

	g[i].feat = -1;
	if (!split)
		return i;
	g[i].feat = xr() % nf;
	g[i].thr = gen_thr();
	g[i].miss = xr() & 1;
	/* the first subtree leaves a slot for its sibling */
	int d1 = chain && xr() & 1 ? depth + 1 : maxd;

	if (xr() & 1) {
		g[i].l = gen_tree(g, cnt, cap - 1, depth + 1, d1, chain, nf);
		g[i].r = gen_tree(g, cnt, cap, depth + 1, maxd, chain, nf);
	} else {
		g[i].r = gen_tree(g, cnt, cap - 1, depth + 1, d1, chain, nf);
		g[i].l = gen_tree(g, cnt, cap, depth + 1, maxd, chain, nf);
	}
	return i;
}

static char *gen_model(bool classify, bool mean, int ntrees, int nf, int ncls, int cap, size_t *len)
{
	struct gnode *g = malloc(cap * sizeof(*g));
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	fprintf(f, "flowqoe-model 1\nestimator X\ntask %s\ncombine %s\nfeatures %d positional\n",
		classify ? "classification" : "regression", mean ? "mean" : "single", nf);
	for (int i = 0; i < nf; i++)
		fprintf(f, "f x%d\n", i);
	if (classify) {
		fprintf(f, "classes %d\n", ncls);
		for (int k = 0; k < ncls; k++)
			fprintf(f, "c k%d\n", k);
	}
	fprintf(f, "trees %d\n", ntrees);
	for (int t = 0; t < ntrees; t++) {
		int cnt = 0, no = classify ? ncls : 1;

		gen_tree(g, &cnt, cap, 0, xr() % 8 == 0 ? 0 : 3 + xr() % 40, xr() % 3 == 0, nf);
		fprintf(f, "tree %d\n", cnt);
		for (int i = 0; i < cnt; i++) {
			if (g[i].feat >= 0) {
				fprintf(f, "s %d %d %d %a %d\n", g[i].l, g[i].r, g[i].feat, g[i].thr,
					g[i].miss);
				continue;
			}
			fputc('l', f);
			for (int k = 0; k < no; k++)
				fprintf(f, " %a", classify ? (double)(xr() % 5) / 4
							   : (double)((int)(xr() % 2001) - 1000) / 7);
			fputc('\n', f);
		}
	}
	fprintf(f, "end\n");
	fclose(f);
	free(g);
	return buf;
}

static void test_layout(void)
{
	static const struct {
		const char *name;
		bool classify, mean;
		int ntrees, cap, rows;
	} cases[] = {
		{ "tree", true, false, 1, 3000, 3001 },
		{ "tree_regression", false, false, 1, 3000, 3001 },
		{ "forest_9", true, true, 9, 400, 3001 },
		/* more trees than one chunk of the single-row path */
		{ "forest_150", true, true, 150, 300, 1003 },
		{ "forest_regression", false, true, 13, 400, 2001 },
		/* trees big enough for the big-block batch path */
		{ "forest_big_trees", true, true, 3, 6000, 20011 },
	};
	const int nf = 5, ncls = 3;

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char name[96], err[256];
		size_t len, n = cases[c].rows;
		char *txt = gen_model(cases[c].classify, cases[c].mean, cases[c].ntrees, nf, ncls,
				      cases[c].cap, &len);
		struct fq_model *m = fq_model_parse(txt, len, err, sizeof(err));
		float *X = malloc(n * nf * sizeof(float));
		int *cls = malloc(n * sizeof(int));
		double *val = malloc(n * sizeof(double)), want[ncls], got[ncls];
		long d_one = 0, d_val = 0, d_sc = 0, d_bat = 0, nanrows = 0;

		snprintf(name, sizeof(name), "model_layout_equals_plain_walk_%s", cases[c].name);
		if (!TL_CHECK(name, m, "generated model refused: %s", err))
			goto next;
		/* a third of the rows without NaN (the fast path), the rest
		 * with some; batch blocks mix both */
		for (size_t i = 0; i < n; i++) {
			bool nan = xr() % 3 != 0, any = false;

			for (int j = 0; j < nf; j++) {
				X[i * nf + j] = gen_x(nan);
				any |= isnan(X[i * nf + j]);
			}
			nanrows += any;
		}
		fq_model_predict_batch(m, X, n, cls, val);
		for (size_t i = 0; i < n; i++) {
			const float *x = X + i * nf;
			int no = cases[c].classify ? ncls : 1;

			ref_scores(m, x, cases[c].mean, want);
			fq_model_predict_scores(m, x, got);
			d_sc += memcmp(want, got, no * sizeof(double)) != 0;
			if (cases[c].classify) {
				int w = ref_argmax(want, ncls);

				d_one += fq_model_predict(m, x) != w;
				d_val += fq_model_predict_value(m, x) != w;
				d_bat += cls[i] != w || val[i] != w;
			} else {
				/* bit for bit: memcmp, not == */
				double v = fq_model_predict_value(m, x);

				d_one += fq_model_predict(m, x) != -1;
				d_val += memcmp(&v, &want[0], sizeof(v)) != 0;
				d_bat += memcmp(&val[i], &want[0], sizeof(v)) != 0 || cls[i] != -1;
			}
		}
		if (TL_CHECK(name, d_one + d_val + d_sc + d_bat == 0,
			     "%zu rows (%ld with NaN): differences predict %ld, value %ld, scores %ld, batch %ld",
			     n, nanrows, d_one, d_val, d_sc, d_bat) &&
		    TL_CHECK(name, nanrows > 0 && nanrows < (long)n, "test bug: %ld NaN rows", nanrows))
			TL_OK(name);
next:
		fq_model_free(m);
		free(txt);
		free(X);
		free(cls);
		free(val);
	}
}

/* ---- allocation failures ------------------------------------------------ */

/* glibc lets a program replace malloc (its manual, "Replacing malloc"):
 * these forward to glibc's allocator, count live blocks, and fail the
 * fail_at-th allocation from the moment fail_at is set.  Under ASan the
 * sanitizer owns malloc: the test is skipped there. */
#if defined(__SANITIZE_ADDRESS__)
#define NO_MALLOC_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_MALLOC_HOOK 1
#endif
#endif

#ifndef NO_MALLOC_HOOK
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t s);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

static long hook_live, hook_count, hook_fail_at = -1;

static bool hook_fails(void)
{
	return hook_fail_at >= 0 && hook_count++ == hook_fail_at;
}

void *malloc(size_t n)
{
	void *p = hook_fails() ? NULL : __libc_malloc(n);

	hook_live += p != NULL;
	return p;
}

void *calloc(size_t n, size_t s)
{
	void *p = hook_fails() ? NULL : __libc_calloc(n, s);

	hook_live += p != NULL;
	return p;
}

void *realloc(void *old, size_t n)
{
	void *p;

	if (old && !n) {
		__libc_free(old);
		hook_live--;
		return NULL;
	}
	p = hook_fails() ? NULL : __libc_realloc(old, n);
	hook_live += !old && p;
	return p;
}

void free(void *p)
{
	hook_live -= p != NULL;
	__libc_free(p);
}

/* Every allocation of a load fails in turn: each time the load is refused
 * as out of memory and what it had allocated is freed (live block count
 * back where it was); then with no failure it loads. */
static void test_oom(void)
{
	const char *name = "model_oom_refused_nothing_leaked";
	size_t len;
	char *txt = gen_model(true, true, 4, 3, 3, 50, &len), err[256];
	long k, bad = 0, leaked = 0, live0, first_bad = -1;
	struct fq_model *m;

	/* valgrind puts its own malloc in place of any: then nothing is
	 * counted here, and valgrind itself checks for leaks */
	hook_count = 0;
	hook_fail_at = LONG_MAX;
	fq_model_free(fq_model_parse(txt, len, err, sizeof(err)));
	hook_fail_at = -1;
	if (!hook_count) {
		TL_SKIP(name, "malloc is not ours (valgrind?)");
		free(txt);
		return;
	}
	for (k = 0;; k++) {
		live0 = hook_live;
		hook_count = 0;
		hook_fail_at = k;
		m = fq_model_parse(txt, len, err, sizeof(err));
		hook_fail_at = -1;
		if (hook_count <= k) {
			/* the load made fewer than k + 1 allocations: done */
			fq_model_free(m);
			break;
		}
		if (m || !strstr(err, "out of memory")) {
			bad++;
			if (first_bad < 0)
				first_bad = k;
		}
		fq_model_free(m);
		leaked += hook_live != live0;
	}
	m = fq_model_parse(txt, len, err, sizeof(err));
	if (TL_CHECK(name, k > 10 && m, "%ld allocations; load without failures: %s", k,
		     m ? "ok" : err) &&
	    TL_CHECK(name, !bad && !leaked,
		     "of %ld failed allocations, %ld not refused as out of memory (first: #%ld, "
		     "err '%s'), %ld leaked", k, bad, first_bad, err, leaked))
		TL_OK(name);
	fq_model_free(m);
	free(txt);
}
#else
static void test_oom(void)
{
	TL_SKIP("model_oom_refused_nothing_leaked", "sanitizer build owns malloc");
}
#endif

int main(void)
{
	char dir[] = "/tmp/fq-test-model.XXXXXX";

	if (!mkdtemp(dir)) {
		TL_FAIL("model_tmpdir", "mkdtemp failed");
		return tl_exit();
	}
	test_predict();
	test_batch();
	test_layout();
	test_oom();
	test_refusals(dir);
	test_mutations();
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		TL_FAIL("model_cleanup", "%s failed", cmd);
	return tl_exit();
}
