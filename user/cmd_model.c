// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * flowqoe model predict MODEL FEATURES.csv
 * flowqoe model explain MODEL [--data CSV] [--label-col NAME] [--max-depth N]
 *                             [--tree I] [--out SURROGATE.model]
 *
 * predict prints one prediction per CSV row, so anyone can check the C
 * engine against scikit-learn.  explain prints a tree as rules; for a
 * forest it fits a single depth-limited tree to the forest's own
 * predictions on the given data (the Trustee idea: explain the model, not
 * the data) and reports how often the two agree (fidelity) and how often
 * each is right (accuracy, when the CSV has a label column).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common.h"
#include "cmds.h"
#include "model.h"

/* ---- CSV ---------------------------------------------------------------- */

/* RFC 4180 records, one per line (a quoted field may not span lines:
 * feature files never need it).  Fields point into c->line. */
struct csv {
	FILE *f;
	const char *path;
	char *line;
	size_t cap;
	char **fld;
	int nfld, fcap;
	long lineno;
};

static int csv_open(struct csv *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->path = path;
	c->f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!c->f) {
		fq_err("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void csv_close(struct csv *c)
{
	if (c->f && c->f != stdin)
		fclose(c->f);
	free(c->line);
	free(c->fld);
}

/* Returns the field count, 0 at end of file, -1 on a malformed record. */
static int csv_next(struct csv *c)
{
	ssize_t n;
	char *p, *o;

	do {
		n = getline(&c->line, &c->cap, c->f);
		if (n < 0)
			return 0;
		c->lineno++;
		while (n > 0 && (c->line[n - 1] == '\n' || c->line[n - 1] == '\r'))
			c->line[--n] = '\0';
	} while (n == 0); /* blank lines carry no record */
	if ((ssize_t)strlen(c->line) != n) {
		fq_err("%s:%ld: NUL byte in a text file", c->path, c->lineno);
		return -1;
	}
	c->nfld = 0;
	p = c->line;
	if (c->lineno == 1 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3; /* UTF-8 byte order mark */
	for (;;) {
		if (c->nfld == c->fcap) {
			int nc = c->fcap ? c->fcap * 2 : 64;
			char **nf = realloc(c->fld, nc * sizeof(*nf));

			if (!nf) {
				fq_err("out of memory");
				return -1;
			}
			c->fld = nf;
			c->fcap = nc;
		}
		c->fld[c->nfld++] = o = p;
		if (*p == '"') {
			/* quoted: "" is a quote; unquote in place */
			for (p++;; p++) {
				if (!*p) {
					fq_err("%s:%ld: unterminated quoted field", c->path,
					       c->lineno);
					return -1;
				}
				if (*p == '"') {
					if (p[1] != '"')
						break;
					p++;
				}
				*o++ = *p;
			}
			p++;
			if (*p && *p != ',') {
				fq_err("%s:%ld: text after a closing quote", c->path, c->lineno);
				return -1;
			}
			*o = '\0';
		} else {
			while (*p && *p != ',')
				p++;
		}
		if (!*p) {
			*p = '\0';
			break;
		}
		*p++ = '\0';
	}
	return c->nfld;
}

static const char *trim(const char *s, size_t *len)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*len = n;
	return s;
}

/* Column of a header cell equal to name; else equal once blanks around
 * both are ignored (CICFlowMeter headers carry leading spaces); -1. */
static int find_col(struct csv *c, const char *name)
{
	size_t nl, hl;
	const char *tn, *th;
	int j, hit = -1;

	for (j = 0; j < c->nfld; j++)
		if (!strcmp(c->fld[j], name))
			return j;
	tn = trim(name, &nl);
	for (j = 0; j < c->nfld; j++) {
		th = trim(c->fld[j], &hl);
		if (hl == nl && !memcmp(th, tn, nl)) {
			if (hit >= 0)
				return -2; /* ambiguous */
			hit = j;
		}
	}
	return hit;
}

/* Maps the model's features to CSV columns from the header in c->fld.
 * col[i] = column of feature i.  Positional models (no feature names) take
 * the first nfeatures columns unless the header has their x0.. names. */
static int map_columns(struct csv *c, const struct fq_model *m, int *col)
{
	int nf = fq_model_nfeatures(m), i, missing = 0;

	for (i = 0; i < nf; i++) {
		col[i] = find_col(c, fq_model_feature_name(m, i));
		if (col[i] == -2) {
			fq_err("%s: header names feature '%s' twice", c->path,
			       fq_model_feature_name(m, i));
			return -1;
		}
		if (col[i] < 0)
			missing++;
	}
	if (!missing)
		return 0;
	if (!fq_model_named(m)) {
		if (c->nfld < nf) {
			fq_err("%s: %d columns, the (positional) model takes %d features", c->path,
			       c->nfld, nf);
			return -1;
		}
		fq_info("model has no feature names: using the first %d CSV columns in order", nf);
		for (i = 0; i < nf; i++)
			col[i] = i;
		return 0;
	}
	for (i = 0; i < nf; i++)
		if (col[i] < 0) {
			fq_err("%s: no column '%s' (the model needs %d features%s)", c->path,
			       fq_model_feature_name(m, i), nf,
			       missing > 1 ? "; more are missing" : "");
			return -1;
		}
	return -1;
}

/* Parses the model's features of the current record into x (float, as
 * scikit-learn casts them: decimal -> double -> float). */
static int parse_row(struct csv *c, const struct fq_model *m, const int *col, float *x)
{
	int nf = fq_model_nfeatures(m), i;

	for (i = 0; i < nf; i++) {
		const char *s;
		char *e;
		double v;
		size_t l;

		if (col[i] >= c->nfld) {
			fq_err("%s:%ld: %d fields, feature '%s' is column %d", c->path, c->lineno,
			       c->nfld, fq_model_feature_name(m, i), col[i] + 1);
			return -1;
		}
		s = trim(c->fld[col[i]], &l);
		errno = 0;
		v = strtod(s, &e);
		if (e == s || (size_t)(e - s) != l) {
			fq_err("%s:%ld: feature '%s': '%.40s' is not a number", c->path, c->lineno,
			       fq_model_feature_name(m, i), c->fld[col[i]]);
			return -1;
		}
		x[i] = (float)v;
	}
	return 0;
}

static struct fq_model *load_model(const char *path)
{
	char err[512];
	struct fq_model *m = fq_model_load(path, err, sizeof(err));

	if (!m)
		fq_err("%s", err);
	return m;
}

/* ---- predict ------------------------------------------------------------ */

#define PRED_BLOCK 4096

static void print_preds(const struct fq_model *m, int n, const int *cls, const double *val)
{
	for (int i = 0; i < n; i++) {
		if (fq_model_task(m) == FQ_MODEL_CLASSIFICATION)
			puts(fq_model_class_name(m, cls[i]));
		else
			printf("%.17g\n", val[i]);
	}
}

static void predict_block(const struct fq_model *m, const float *X, int n, int *cls, double *val,
			  bool rows)
{
	int nf = fq_model_nfeatures(m);

	if (!rows) {
		fq_model_predict_batch(m, X, n, cls, val);
		return;
	}
	for (int i = 0; i < n; i++) {
		if (fq_model_task(m) == FQ_MODEL_CLASSIFICATION)
			cls[i] = fq_model_predict(m, X + (size_t)i * nf);
		else
			val[i] = fq_model_predict_value(m, X + (size_t)i * nf);
	}
}

static void predict_usage(FILE *f)
{
	fprintf(f, "usage: flowqoe model predict [--rows] MODEL FEATURES.csv\n"
		   "  Prints one prediction per CSV row (class name, or the value of a\n"
		   "  regressor as %%.17g).  The CSV's header names the features; extra\n"
		   "  columns are ignored; '-' reads standard input.  --rows predicts\n"
		   "  one row at a time (the classifier workers' path) instead of in\n"
		   "  batches; the results are the same.\n");
}

static int cmd_predict(int argc, char **argv)
{
	static char obuf[1 << 16];
	struct fq_model *m;
	struct csv c;
	float *X = NULL;
	int *col = NULL, *cls = NULL, nf, n = 0, r, rc = FQ_EXIT_FAIL;
	double *val = NULL;
	bool rows = false;

	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		predict_usage(stdout);
		return FQ_EXIT_OK;
	}
	if (argc > 1 && !strcmp(argv[1], "--rows")) {
		rows = true;
		argc--;
		argv++;
	}
	if (argc != 3) {
		predict_usage(stderr);
		return FQ_EXIT_USAGE;
	}
	m = load_model(argv[1]);
	if (!m)
		return FQ_EXIT_FAIL;
	if (csv_open(&c, argv[2]))
		goto out_model;
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	nf = fq_model_nfeatures(m);
	col = calloc(nf, sizeof(*col));
	X = calloc((size_t)nf * PRED_BLOCK, sizeof(*X));
	cls = calloc(PRED_BLOCK, sizeof(*cls));
	val = calloc(PRED_BLOCK, sizeof(*val));
	if (!col || !X || !cls || !val) {
		fq_err("out of memory");
		goto out;
	}
	r = csv_next(&c);
	if (r <= 0) {
		if (!r)
			fq_err("%s: empty file (a header naming the features is needed)", argv[2]);
		goto out;
	}
	if (map_columns(&c, m, col))
		goto out;
	while ((r = csv_next(&c)) > 0) {
		if (parse_row(&c, m, col, X + (size_t)n * nf))
			goto out;
		if (++n == PRED_BLOCK) {
			predict_block(m, X, n, cls, val, rows);
			print_preds(m, n, cls, val);
			n = 0;
		}
	}
	if (r < 0)
		goto out;
	if (ferror(c.f)) {
		fq_err("%s: read error", argv[2]);
		goto out;
	}
	predict_block(m, X, n, cls, val, rows);
	print_preds(m, n, cls, val);
	rc = fflush(stdout) ? FQ_EXIT_FAIL : FQ_EXIT_OK;
out:
	/* predictions printed before an error stay printed; the exit status
	 * says the file was not read to its end */
	fflush(stdout);
	free(col);
	free(X);
	free(cls);
	free(val);
	csv_close(&c);
out_model:
	fq_model_free(m);
	return rc;
}

/* ---- rules -------------------------------------------------------------- */

/* Bounds on each feature along the path to a node: lo < x <= hi. */
struct bound {
	double lo, hi;
};

static void print_leaf(const struct fq_model *m, const double *v)
{
	if (fq_model_task(m) == FQ_MODEL_REGRESSION) {
		printf("value %.6g", v[0]);
		return;
	}
	int k, best = 0, nc = fq_model_nclasses(m);
	double sum = 0;

	for (k = 0; k < nc; k++) {
		sum += v[k];
		if (v[k] > v[best])
			best = k;
	}
	printf("class %s (%.0f%%)", fq_model_class_name(m, best),
	       sum > 0 ? 100.0 * v[best] / sum : 0.0);
}

static void walk_rules(const struct fq_model *m, int tree, int node, struct bound *b, int *nrule,
		       int depth)
{
	struct fq_model_node nd;

	fq_model_tree_node(m, tree, node, &nd);
	if (nd.feature < 0) {
		int nf = fq_model_nfeatures(m), i, first = 1;

		printf("  rule %d: ", ++*nrule);
		for (i = 0; i < nf; i++) {
			bool lo = b[i].lo > -INFINITY, hi = b[i].hi < INFINITY;
			const char *name = fq_model_feature_name(m, i);

			if (!lo && !hi)
				continue;
			printf("%s", first ? "if " : " and ");
			first = 0;
			if (lo && hi)
				printf("%.7g < %s <= %.7g", b[i].lo, name, b[i].hi);
			else if (lo)
				printf("%s > %.7g", name, b[i].lo);
			else
				printf("%s <= %.7g", name, b[i].hi);
		}
		printf("%s", first ? "always: " : ": ");
		print_leaf(m, nd.value);
		printf("\n");
		return;
	}
	struct bound save = b[nd.feature];

	if (nd.threshold < b[nd.feature].hi)
		b[nd.feature].hi = nd.threshold;
	walk_rules(m, tree, nd.left, b, nrule, depth + 1);
	b[nd.feature] = save;
	if (nd.threshold > b[nd.feature].lo)
		b[nd.feature].lo = nd.threshold;
	walk_rules(m, tree, nd.right, b, nrule, depth + 1);
	b[nd.feature] = save;
}

static int tree_depth(const struct fq_model *m, int tree, int node)
{
	struct fq_model_node nd;
	int l, r;

	fq_model_tree_node(m, tree, node, &nd);
	if (nd.feature < 0)
		return 0;
	l = tree_depth(m, tree, nd.left);
	r = tree_depth(m, tree, nd.right);
	return 1 + (l > r ? l : r);
}

static int print_rules(const struct fq_model *m, int tree)
{
	int nf = fq_model_nfeatures(m), nrule = 0, i;
	struct bound *b = malloc(nf * sizeof(*b));

	if (!b) {
		fq_err("out of memory");
		return -1;
	}
	for (i = 0; i < nf; i++)
		b[i] = (struct bound){ -INFINITY, INFINITY };
	printf("tree %d: %d nodes, depth %d; rules (features compared as float32, "
	       "thresholds rounded for reading):\n",
	       tree, fq_model_tree_nodes(m, tree), tree_depth(m, tree, 0));
	walk_rules(m, tree, 0, b, &nrule, 0);
	free(b);
	return 0;
}

/* ---- surrogate tree (CART, Gini) ----------------------------------------- */

struct cart {
	const float *X;
	const int *y;
	int nf, ncls, max_depth, min_leaf;
	/* output: nodes in creation order (children after parents) */
	int n, cap;
	struct cnode {
		int feat, left, right;
		double thr;
		int *counts;
	} *nodes;
	struct pair {
		float v;
		int y;
	} *pairs;
	int *scratch;
};

static int cmp_pair(const void *a, const void *b)
{
	float x = ((const struct pair *)a)->v, y = ((const struct pair *)b)->v;

	return x < y ? -1 : x > y;
}

static int cart_new_node(struct cart *t)
{
	if (t->n == t->cap) {
		int nc = t->cap ? t->cap * 2 : 64;
		struct cnode *nn = realloc(t->nodes, nc * sizeof(*nn));

		if (!nn)
			return -1;
		t->nodes = nn;
		t->cap = nc;
	}
	t->nodes[t->n] = (struct cnode){ .feat = -1, .left = -1, .right = -1 };
	t->nodes[t->n].counts = calloc(t->ncls, sizeof(int));
	if (!t->nodes[t->n].counts)
		return -1;
	return t->n++;
}

/* Builds the subtree over rows idx[0..n); returns its node or -1. */
static int cart_build(struct cart *t, int *idx, int n, int depth)
{
	int id = cart_new_node(t), f, i, k, best_f = -1, nl;
	double best = -1, parent = 0, best_thr = 0;
	int *lc, *rc, *cnt;

	if (id < 0)
		return -1;
	cnt = t->nodes[id].counts;
	for (i = 0; i < n; i++)
		cnt[t->y[idx[i]]]++;
	for (k = 0; k < t->ncls; k++)
		parent += (double)cnt[k] * cnt[k];
	parent /= n;
	for (k = 0; k < t->ncls; k++)
		if (cnt[k] == n)
			return id; /* pure */
	if (depth >= t->max_depth || n < 2 * t->min_leaf)
		return id;
	lc = calloc(2 * t->ncls, sizeof(int));
	if (!lc)
		return -1;
	rc = lc + t->ncls;
	for (f = 0; f < t->nf; f++) {
		for (i = 0; i < n; i++) {
			t->pairs[i].v = t->X[(size_t)idx[i] * t->nf + f];
			t->pairs[i].y = t->y[idx[i]];
		}
		qsort(t->pairs, n, sizeof(*t->pairs), cmp_pair);
		memset(lc, 0, t->ncls * sizeof(int));
		memcpy(rc, cnt, t->ncls * sizeof(int));
		double sl = 0, sr = parent * n; /* sums of squared counts */

		for (i = 0; i < n - 1; i++) {
			int c = t->pairs[i].y;

			/* keep sum of squares current: (a+1)^2 - a^2 = 2a+1 */
			sl += 2.0 * lc[c] + 1;
			sr -= 2.0 * rc[c] - 1;
			lc[c]++;
			rc[c]--;
			if (i + 1 < t->min_leaf || n - i - 1 < t->min_leaf)
				continue;
			if (!(t->pairs[i].v < t->pairs[i + 1].v))
				continue; /* no threshold between equal values (or NaN) */
			/* Gini gain proxy: sum_k l_k^2/n_l + sum_k r_k^2/n_r */
			double score = sl / (i + 1) + sr / (n - i - 1);

			if (score > best + 1e-9) {
				double a = t->pairs[i].v, b = t->pairs[i + 1].v;

				best = score;
				best_f = f;
				/* midpoint as scikit-learn takes it; never equal
				 * to the upper value, or <= would send it left */
				best_thr = a / 2.0 + b / 2.0;
				if (best_thr >= b || !isfinite(best_thr))
					best_thr = a;
			}
		}
	}
	free(lc);
	if (best_f < 0 || best <= parent + 1e-9)
		return id;
	/* partition idx in place: left rows first */
	nl = 0;
	for (i = 0; i < n; i++)
		if ((double)t->X[(size_t)idx[i] * t->nf + best_f] <= best_thr)
			t->scratch[nl++] = idx[i];
	k = nl;
	for (i = 0; i < n; i++)
		if (!((double)t->X[(size_t)idx[i] * t->nf + best_f] <= best_thr))
			t->scratch[k++] = idx[i];
	memcpy(idx, t->scratch, n * sizeof(int));
	t->nodes[id].feat = best_f;
	t->nodes[id].thr = best_thr;
	int l = cart_build(t, idx, nl, depth + 1);
	if (l < 0)
		return -1;
	int r = cart_build(t, idx + nl, n - nl, depth + 1);
	if (r < 0)
		return -1;
	t->nodes[id].left = l;
	t->nodes[id].right = r;
	return id;
}

static void cart_free(struct cart *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->nodes[i].counts);
	free(t->nodes);
	free(t->pairs);
	free(t->scratch);
}

/* Writes the fitted tree in the model format (models/FORMAT.md) into a
 * memory stream; the text is then loaded like any model file. */
static char *cart_to_text(struct cart *t, const struct fq_model *m, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	int i, k, nf = fq_model_nfeatures(m);

	if (!f)
		return NULL;
	fprintf(f, "flowqoe-model 1\n# surrogate tree fitted by flowqoe model explain\n"
		   "estimator SurrogateDecisionTree\ntask classification\ncombine single\n"
		   "features %d %s\n", nf, fq_model_named(m) ? "named" : "positional");
	for (i = 0; i < nf; i++) {
		const unsigned char *s = (const unsigned char *)fq_model_feature_name(m, i);

		fputs("f ", f);
		for (; *s; s++)
			if (*s > 0x20 && *s < 0x7f && *s != '%')
				fputc(*s, f);
			else
				fprintf(f, "%%%02X", *s);
		fputc('\n', f);
	}
	fprintf(f, "classes %d\n", fq_model_nclasses(m));
	for (k = 0; k < fq_model_nclasses(m); k++) {
		const unsigned char *s = (const unsigned char *)fq_model_class_name(m, k);

		fputs("c ", f);
		for (; *s; s++)
			if (*s > 0x20 && *s < 0x7f && *s != '%')
				fputc(*s, f);
			else
				fprintf(f, "%%%02X", *s);
		fputc('\n', f);
	}
	fprintf(f, "trees 1\ntree %d\n", t->n);
	for (i = 0; i < t->n; i++) {
		struct cnode *nd = &t->nodes[i];

		if (nd->feat >= 0) {
			fprintf(f, "s %d %d %d %a 0\n", nd->left, nd->right, nd->feat, nd->thr);
			continue;
		}
		int tot = 0;

		for (k = 0; k < t->ncls; k++)
			tot += nd->counts[k];
		fputc('l', f);
		for (k = 0; k < t->ncls; k++)
			fprintf(f, " %a", tot ? (double)nd->counts[k] / tot : 0.0);
		fputc('\n', f);
	}
	fprintf(f, "end\n");
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- explain ------------------------------------------------------------ */

struct dataset {
	float *X;
	int *label; /* class index; -1: not one of the model's classes */
	int n, cap;
	bool has_label;
	long unknown_labels;
};

static int load_data(const char *path, const struct fq_model *m, const char *label_col,
		     struct dataset *d)
{
	int nf = fq_model_nfeatures(m), *col, lc = -1, r, k, rc = -1;
	struct csv c;

	memset(d, 0, sizeof(*d));
	if (csv_open(&c, path))
		return -1;
	col = calloc(nf, sizeof(*col));
	if (!col)
		goto out;
	r = csv_next(&c);
	if (r <= 0) {
		if (!r)
			fq_err("%s: empty file", path);
		goto out;
	}
	if (map_columns(&c, m, col))
		goto out;
	if (label_col) {
		lc = find_col(&c, label_col);
		if (lc < 0) {
			fq_err("%s: no label column '%s'", path, label_col);
			goto out;
		}
	} else if (fq_model_task(m) == FQ_MODEL_CLASSIFICATION) {
		lc = find_col(&c, "Label");
		if (lc < 0)
			lc = find_col(&c, "label");
	}
	d->has_label = lc >= 0;
	while ((r = csv_next(&c)) > 0) {
		if (d->n == d->cap) {
			int nc = d->cap ? d->cap * 2 : 1024;
			float *nx = realloc(d->X, (size_t)nc * nf * sizeof(float));
			int *nl;

			if (!nx)
				goto oom;
			d->X = nx;
			nl = realloc(d->label, nc * sizeof(int));
			if (!nl)
				goto oom;
			d->label = nl;
			d->cap = nc;
		}
		if (parse_row(&c, m, col, d->X + (size_t)d->n * nf))
			goto out;
		d->label[d->n] = -1;
		if (lc >= 0) {
			if (lc >= c.nfld) {
				fq_err("%s:%ld: no label field", path, c.lineno);
				goto out;
			}
			size_t l;
			const char *s = trim(c.fld[lc], &l);

			for (k = 0; k < fq_model_nclasses(m); k++) {
				const char *cn = fq_model_class_name(m, k);

				if (strlen(cn) == l && !memcmp(cn, s, l))
					d->label[d->n] = k;
			}
			if (d->label[d->n] < 0)
				d->unknown_labels++;
		}
		d->n++;
	}
	if (r < 0)
		goto out;
	if (!d->n) {
		fq_err("%s: no data rows", path);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	fq_err("out of memory");
out:
	free(col);
	csv_close(&c);
	return rc;
}

static double share(long a, long b)
{
	return b ? (double)a / b : NAN;
}

static void explain_usage(FILE *f)
{
	fprintf(f,
		"usage: flowqoe model explain MODEL [--data CSV] [--label-col NAME]\n"
		"                             [--max-depth N] [--tree I] [--out FILE]\n"
		"  A single tree prints as rules.  A forest with --data: fits a tree of\n"
		"  depth <= N (default 4) to the forest's own predictions on 80%% of the\n"
		"  rows (every 5th row held out), prints it as rules and reports its\n"
		"  fidelity to the forest (held-out and all rows) and, if the CSV has a\n"
		"  label column (--label-col, default Label or label), the accuracy of\n"
		"  both.  --out writes the surrogate as a model file.  --tree I prints\n"
		"  tree I of a forest as rules.\n");
}

static int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "label-col", required_argument, NULL, 'l' },
		{ "max-depth", required_argument, NULL, 'D' },
		{ "tree", required_argument, NULL, 't' },
		{ "out", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = NULL, *label_col = NULL, *out = NULL;
	struct fq_model *m, *sur = NULL;
	struct dataset d = { 0 };
	struct cart t = { 0 };
	int opt, max_depth = 4, tree = -1, rc = FQ_EXIT_FAIL, *pred = NULL, *sp = NULL, *idx = NULL;
	uint64_t u;
	char *text = NULL;
	size_t len;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': data = optarg; break;
		case 'l': label_col = optarg; break;
		case 'o': out = optarg; break;
		case 'D':
			if (fq_parse_u64(optarg, &u) || u < 1 || u > 30) {
				fq_err("--max-depth wants 1..30");
				return FQ_EXIT_USAGE;
			}
			max_depth = u;
			break;
		case 't':
			if (fq_parse_u64(optarg, &u) || u > FQ_MODEL_MAX_TREES) {
				fq_err("--tree wants a tree index");
				return FQ_EXIT_USAGE;
			}
			tree = u;
			break;
		case 'h': explain_usage(stdout); return FQ_EXIT_OK;
		default: explain_usage(stderr); return FQ_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		explain_usage(stderr);
		return FQ_EXIT_USAGE;
	}
	m = load_model(argv[optind]);
	if (!m)
		return FQ_EXIT_FAIL;
	printf("model %s: %s, %s, %d tree%s, %d features", argv[optind], fq_model_estimator(m),
	       fq_model_task(m) == FQ_MODEL_CLASSIFICATION ? "classification" : "regression",
	       fq_model_ntrees(m), fq_model_ntrees(m) > 1 ? "s" : "", fq_model_nfeatures(m));
	if (fq_model_task(m) == FQ_MODEL_CLASSIFICATION) {
		printf(", classes");
		for (int k = 0; k < fq_model_nclasses(m); k++)
			printf(" %s", fq_model_class_name(m, k));
	}
	printf("\n");
	if (tree >= fq_model_ntrees(m)) {
		fq_err("--tree %d: the model has %d trees", tree, fq_model_ntrees(m));
		goto out;
	}
	if (tree >= 0 || fq_model_ntrees(m) == 1) {
		if (print_rules(m, tree >= 0 ? tree : 0))
			goto out;
	}
	if (!data) {
		if (fq_model_ntrees(m) > 1 && tree < 0)
			printf("a forest: --data CSV fits and prints a single-tree surrogate, "
			       "--tree I prints tree I\n");
		rc = FQ_EXIT_OK;
		goto out;
	}
	if (load_data(data, m, label_col, &d))
		goto out;
	pred = calloc(d.n, sizeof(int));
	sp = calloc(d.n, sizeof(int));
	idx = calloc(d.n, sizeof(int));
	if (!pred || !sp || !idx) {
		fq_err("out of memory");
		goto out;
	}
	if (fq_model_task(m) != FQ_MODEL_CLASSIFICATION) {
		fq_err("a surrogate is fitted for classifiers only");
		goto out;
	}
	fq_model_predict_batch(m, d.X, d.n, pred, NULL);
	if (d.has_label) {
		long right = 0, known = 0;

		for (int i = 0; i < d.n; i++)
			if (d.label[i] >= 0) {
				known++;
				right += pred[i] == d.label[i];
			}
		printf("data %s: %d rows; model accuracy %.4f (%ld/%ld rows", data, d.n,
		       share(right, known), right, known);
		if (d.unknown_labels)
			printf("; %ld rows whose label is no class of the model left out",
			       d.unknown_labels);
		printf(")\n");
	} else {
		printf("data %s: %d rows, no label column\n", data, d.n);
	}
	if (fq_model_ntrees(m) == 1 && !out) {
		rc = FQ_EXIT_OK;
		goto out;
	}

	/* surrogate: fit on rows i % 5 != 0, hold out the rest (all rows
	 * when there are too few to split) */
	int ntrain = 0, i;
	bool split = d.n >= 10;

	for (i = 0; i < d.n; i++)
		if (!split || i % 5)
			idx[ntrain++] = i;
	t.X = d.X;
	t.y = pred;
	t.nf = fq_model_nfeatures(m);
	t.ncls = fq_model_nclasses(m);
	t.max_depth = max_depth;
	t.min_leaf = 1;
	t.pairs = malloc(ntrain * sizeof(*t.pairs));
	t.scratch = malloc(ntrain * sizeof(int));
	if (!t.pairs || !t.scratch || cart_build(&t, idx, ntrain, 0) < 0) {
		fq_err("out of memory");
		goto out;
	}
	text = cart_to_text(&t, m, &len);
	if (text) {
		char err[256];

		sur = fq_model_parse(text, len, err, sizeof(err));
		if (!sur)
			fq_err("surrogate: %s", err); /* a bug, not bad input */
	}
	if (!sur)
		goto out;
	fq_model_predict_batch(sur, d.X, d.n, sp, NULL);
	{
		long ag = 0, agh = 0, nh = 0, sr = 0, known = 0;

		for (i = 0; i < d.n; i++) {
			ag += sp[i] == pred[i];
			if (split && i % 5 == 0) {
				nh++;
				agh += sp[i] == pred[i];
			}
			if (d.label[i] >= 0) {
				known++;
				sr += sp[i] == d.label[i];
			}
		}
		printf("surrogate: depth <= %d tree fitted to the model's predictions on %d rows\n",
		       max_depth, ntrain);
		if (split)
			printf("fidelity (held-out) %.4f (%ld/%ld rows agree with the model)\n",
			       share(agh, nh), agh, nh);
		printf("fidelity (all) %.4f (%ld/%d)\n", share(ag, d.n), ag, d.n);
		if (d.has_label)
			printf("surrogate accuracy %.4f (%ld/%ld)\n", share(sr, known), sr, known);
	}
	if (print_rules(sur, 0))
		goto out;
	if (out) {
		FILE *f = fopen(out, "w");

		if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
			fq_err("%s: %s", out, strerror(errno));
			goto out;
		}
	}
	rc = FQ_EXIT_OK;
out:
	cart_free(&t);
	free(text);
	free(pred);
	free(sp);
	free(idx);
	free(d.X);
	free(d.label);
	fq_model_free(sur);
	fq_model_free(m);
	return rc;
}

/* ---- bench ------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Times fq_model_predict one row at a time (what a classifier worker
 * does) and fq_model_predict_batch, in this thread's CPU time: one core,
 * and not inflated by other processes on a shared machine. */
static int cmd_bench(int argc, char **argv)
{
	struct fq_model *m;
	struct dataset d;
	double secs = 1, t0, t, dt;
	long rows, sink = 0;
	int *cls = NULL, rc = FQ_EXIT_FAIL;

	if (argc < 3 || argc > 4 || (argc == 4 && (fq_parse_double(argv[3], &secs) || secs <= 0))) {
		fprintf(stderr, "usage: flowqoe model bench MODEL FEATURES.csv [SECONDS]\n"
				"  rows/s and ns/row of single-row and batch prediction, one thread\n");
		return FQ_EXIT_USAGE;
	}
	m = load_model(argv[1]);
	if (!m)
		return FQ_EXIT_FAIL;
	if (load_data(argv[2], m, NULL, &d))
		goto out;
	if (d.n <= 0) {
		fq_err("%s: no rows to predict", argv[2]);
		goto out;
	}
	cls = calloc(d.n, sizeof(int));
	if (!cls)
		goto out;
	int nf = fq_model_nfeatures(m);

	/* warm caches, then whole passes over the rows until secs passed */
	for (int i = 0; i < d.n; i++)
		sink += fq_model_predict(m, d.X + (size_t)i * nf);
	rows = 0;
	t0 = now_s();
	do {
		for (int i = 0; i < d.n; i++)
			sink += fq_model_predict(m, d.X + (size_t)i * nf);
		rows += d.n;
		t = now_s();
	} while (t - t0 < secs);
	dt = t - t0;
	printf("single_row_ns %.1f\nsingle_row_rows_per_s %.0f\n", dt * 1e9 / rows, rows / dt);
	rows = 0;
	t0 = now_s();
	do {
		fq_model_predict_batch(m, d.X, d.n, cls, NULL);
		sink += cls[d.n - 1];
		rows += d.n;
		t = now_s();
	} while (t - t0 < secs);
	dt = t - t0;
	printf("batch_ns %.1f\nbatch_rows_per_s %.0f\n", dt * 1e9 / rows, rows / dt);
	printf("rows %d trees %d checksum %ld\n", d.n, fq_model_ntrees(m), sink);
	rc = FQ_EXIT_OK;
out:
	free(cls);
	free(d.X);
	free(d.label);
	fq_model_free(m);
	return rc;
}

static void model_usage(FILE *f)
{
	fprintf(f, "usage: flowqoe model {predict|explain|bench} ...\n"
		   "  predict [--rows] MODEL CSV   one prediction per CSV row\n"
		   "  explain MODEL [--data CSV]   rules; surrogate tree of a forest\n"
		   "  bench MODEL CSV [SECONDS]    single-row and batch speed, one thread\n"
		   "  Model files: models/FORMAT.md; models/from_sklearn.py converts\n"
		   "  scikit-learn trees and forests.\n");
}

int do_model(int argc, char **argv)
{
	if (argc < 2) {
		model_usage(stderr);
		return FQ_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		model_usage(stdout);
		return FQ_EXIT_OK;
	}
	if (strlen(argv[1]) && !strncmp("predict", argv[1], strlen(argv[1])))
		return cmd_predict(argc - 1, argv + 1);
	if (strlen(argv[1]) && !strncmp("explain", argv[1], strlen(argv[1])))
		return cmd_explain(argc - 1, argv + 1);
	if (!strcmp("bench", argv[1]))
		return cmd_bench(argc - 1, argv + 1);
	fq_err("unknown model command '%s'", argv[1]);
	model_usage(stderr);
	return FQ_EXIT_USAGE;
}
