// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Tree-model loader and predictor (format: models/FORMAT.md).
 *
 * The loader trusts nothing: every count is bounded before anything is
 * allocated from it, every node index must point forward inside its own
 * tree (which rules out cycles) and every node but the root must have
 * exactly one parent (so each tree is a tree, all of it reachable), every
 * number must be finite.  After load, prediction needs no checks at all.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "model.h"

/* One node of any tree, in one array for all trees; 24 bytes so that the
 * hot top levels of a tree share cache lines. */
struct node {
	double thr;
	int32_t feat;      /* -1: leaf */
	uint32_t left;     /* split: absolute node index; leaf: offset in vals */
	uint32_t right;    /* split: absolute node index; leaf: argmax class */
	uint32_t miss_left;
};

struct fq_model {
	enum fq_model_task task;
	bool mean;          /* combine mean (forest) vs single tree */
	bool named;
	int nfeat, ncls, ntrees, nout; /* nout: values per leaf */
	char *estimator;
	char **feat_names;
	char **cls_names;
	uint32_t *roots;    /* ntrees absolute node indices */
	uint32_t *tree_len; /* nodes per tree */
	struct node *nodes;
	size_t nnodes;
	double *vals;
	size_t nvals;
	/* the layout predict walks, built from nodes after validation */
	struct fnode *fn;
	uint32_t *fcls;     /* per fnode: argmax of a leaf's values (single tree) */
};

/* Prediction layout: per tree, nodes renumbered breadth first so that a
 * node's children are adjacent (right = left + 1) and the next node is
 * left + !(x <= thr): no branch to mispredict per level.  A leaf points to
 * itself (feature 0, threshold +inf, NaN goes left), so a step from a leaf
 * stays put whatever the row holds, NaN included, and "the step did not
 * move" is the test for "at a leaf": children always come after their
 * parent, so a split never steps to itself.  16 bytes, four to a line.
 *
 * thr is the largest float <= scikit-learn's double threshold: for every
 * float x, (double)x <= threshold exactly when x <= thr (x is itself a
 * float <= threshold, hence <= the largest one), and NaN compares false
 * both ways.  A float compare saves a conversion on every step. */
struct fnode {
	float thr;
	uint16_t feat; /* FQ_MODEL_MAX_FEATURES fits */
	uint16_t miss; /* missing_go_to_left */
	uint32_t left; /* absolute index of the left child; leaf: itself */
	uint32_t val;  /* leaf: offset of its values in vals */
};

/* ---- parsing ------------------------------------------------------------ */

struct parser {
	char *buf, *p, *end;
	int line;
	char *tok[FQ_MODEL_MAX_CLASSES + 2]; /* a leaf line is the longest */
	int ntok;
	char *err;
	size_t errlen;
	bool failed;
};

static void perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ps->failed)
		return;
	ps->failed = true;
	if (!ps->err || !ps->errlen)
		return;
	n = ps->line ? snprintf(ps->err, ps->errlen, "line %d: ", ps->line) : 0;
	if (n < 0 || (size_t)n >= ps->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->err + n, ps->errlen - n, fmt, ap);
	va_end(ap);
}

/* Next line that is neither blank nor a comment, split on blanks into
 * ps->tok.  Returns false at end of input (ps->ntok = 0). */
static bool next_line(struct parser *ps)
{
	while (ps->p < ps->end) {
		char *s = ps->p, *nl = memchr(s, '\n', ps->end - s);
		char *e = nl ? nl : ps->end, *q;

		ps->p = nl ? nl + 1 : ps->end;
		ps->line++;
		*e = '\0';
		if (e > s && e[-1] == '\r')
			e[-1] = '\0';
		ps->ntok = 0;
		for (q = s; *q;) {
			while (*q == ' ' || *q == '\t')
				q++;
			if (!*q)
				break;
			if (ps->ntok == (int)(sizeof(ps->tok) / sizeof(ps->tok[0]))) {
				perr(ps, "too many fields");
				return false;
			}
			ps->tok[ps->ntok++] = q;
			while (*q && *q != ' ' && *q != '\t')
				q++;
			if (*q)
				*q++ = '\0';
		}
		if (ps->ntok == 0 || ps->tok[0][0] == '#')
			continue;
		return true;
	}
	ps->ntok = 0;
	return false;
}

/* Reads the next line and checks its keyword and field count. */
static bool expect(struct parser *ps, const char *kw, int nfields)
{
	if (ps->failed)
		return false;
	if (!next_line(ps)) {
		if (!ps->failed) {
			ps->line = 0;
			perr(ps, "truncated: end of file where '%s' was expected", kw);
		}
		return false;
	}
	if (strcmp(ps->tok[0], kw)) {
		perr(ps, "expected '%s', found '%.40s'", kw, ps->tok[0]);
		return false;
	}
	if (nfields >= 0 && ps->ntok != nfields + 1) {
		perr(ps, "'%s' wants %d field(s), found %d", kw, nfields, ps->ntok - 1);
		return false;
	}
	return true;
}

static bool get_long(struct parser *ps, const char *s, long lo, long hi, const char *what,
		     long *out)
{
	char *e;
	long v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (errno || e == s || *e || (*s != '-' && (*s < '0' || *s > '9'))) {
		perr(ps, "%s: '%.40s' is not an integer", what, s);
		return false;
	}
	if (v < lo || v > hi) {
		perr(ps, "%s %ld out of range [%ld, %ld]", what, v, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static bool get_double(struct parser *ps, const char *s, const char *what, bool inf_ok,
		       double *out)
{
	char *e;
	double v;

	v = strtod(s, &e);
	if (e == s || *e) {
		perr(ps, "%s: '%.40s' is not a number", what, s);
		return false;
	}
	if (isnan(v) || (isinf(v) && !inf_ok)) {
		perr(ps, "%s is %s", what, isnan(v) ? "NaN" : "infinite");
		return false;
	}
	*out = v;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decoded copy of a name token. */
static char *get_name(struct parser *ps, const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *r = malloc(n + 1);

	if (!r) {
		perr(ps, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			r[o++] = s[i];
			continue;
		}
		int hi = hexval(s[i + 1]);
		int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

		if (hi < 0 || lo < 0 || (hi | lo) == 0) {
			perr(ps, "bad %%-escape in name '%.40s'", s);
			free(r);
			return NULL;
		}
		r[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	r[o] = '\0';
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool read_names(struct parser *ps, const char *kw, int n, char ***out)
{
	char **v = calloc(n ? n : 1, sizeof(*v)), **s;
	bool ok = true;
	int i;

	*out = v;
	if (!v) {
		perr(ps, "out of memory");
		return false;
	}
	for (i = 0; i < n; i++) {
		if (!expect(ps, kw, 1) || !(v[i] = get_name(ps, ps->tok[1])))
			return false;
	}
	/* duplicates would make lookup by name ambiguous */
	s = malloc(n * sizeof(*s));
	if (!s) {
		perr(ps, "out of memory");
		return false;
	}
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_str);
	for (i = 1; i < n && ok; i++)
		if (!strcmp(s[i - 1], s[i])) {
			perr(ps, "duplicate name '%.60s'", s[i]);
			ok = false;
		}
	free(s);
	return ok;
}

static bool grow(struct parser *ps, void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	n = realloc(*arr, c * elem);
	if (!n) {
		perr(ps, "out of memory");
		return false;
	}
	*arr = n;
	*cap = c;
	return true;
}

static bool read_tree(struct parser *ps, struct fq_model *m, int t, size_t *ncap, size_t *vcap,
		      uint8_t **seen, size_t *seencap)
{
	long n, i, l, r, f, ms;
	size_t base = m->nnodes;

	if (!expect(ps, "tree", 1) ||
	    !get_long(ps, ps->tok[1], 1, FQ_MODEL_MAX_NODES, "node count", &n))
		return false;
	if (base + n > FQ_MODEL_MAX_NODES) {
		perr(ps, "more than %u nodes in all", FQ_MODEL_MAX_NODES);
		return false;
	}
	if (!grow(ps, (void **)&m->nodes, ncap, base + n, sizeof(*m->nodes)) ||
	    !grow(ps, (void **)seen, seencap, n, 1))
		return false;
	memset(*seen, 0, n);
	m->roots[t] = base;
	m->tree_len[t] = n;
	for (i = 0; i < n; i++) {
		struct node *nd = &m->nodes[base + i];

		if (ps->failed)
			return false;
		if (!next_line(ps)) {
			if (!ps->failed) {
				ps->line = 0;
				perr(ps, "truncated: tree %d ends after %ld of %ld nodes", t, i, n);
			}
			return false;
		}
		if (!strcmp(ps->tok[0], "s")) {
			if (ps->ntok != 6) {
				perr(ps, "split node wants 5 fields, found %d", ps->ntok - 1);
				return false;
			}
			/* children after their parent: no cycle can be written */
			if (!get_long(ps, ps->tok[1], i + 1, n - 1, "left child", &l) ||
			    !get_long(ps, ps->tok[2], i + 1, n - 1, "right child", &r) ||
			    !get_long(ps, ps->tok[3], 0, m->nfeat - 1, "feature", &f) ||
			    !get_double(ps, ps->tok[4], "threshold", true, &nd->thr) ||
			    !get_long(ps, ps->tok[5], 0, 1, "missing-left flag", &ms))
				return false;
			if (l == r) {
				perr(ps, "node %ld: both children are node %ld", i, l);
				return false;
			}
			if ((*seen)[l] || (*seen)[r]) {
				perr(ps, "node %ld: node %ld already has a parent", i,
				     (*seen)[l] ? l : r);
				return false;
			}
			(*seen)[l] = (*seen)[r] = 1;
			nd->feat = f;
			nd->left = base + l;
			nd->right = base + r;
			nd->miss_left = ms;
		} else if (!strcmp(ps->tok[0], "l")) {
			int k, best = 0;
			double *v;

			if (ps->ntok != m->nout + 1) {
				perr(ps, "leaf wants %d value(s), found %d", m->nout, ps->ntok - 1);
				return false;
			}
			if (!grow(ps, (void **)&m->vals, vcap, m->nvals + m->nout, sizeof(double)))
				return false;
			v = &m->vals[m->nvals];
			for (k = 0; k < m->nout; k++) {
				if (!get_double(ps, ps->tok[k + 1], "leaf value", false, &v[k]))
					return false;
				if (m->task == FQ_MODEL_CLASSIFICATION && v[k] < 0) {
					perr(ps, "negative class score");
					return false;
				}
				if (v[k] > v[best])
					best = k;
			}
			nd->feat = -1;
			nd->left = m->nvals;
			nd->right = best;
			nd->miss_left = 0;
			nd->thr = 0;
			m->nvals += m->nout;
		} else {
			perr(ps, "expected a node ('s' or 'l'), found '%.40s'", ps->tok[0]);
			return false;
		}
	}
	for (i = 1; i < n; i++)
		if (!(*seen)[i]) {
			perr(ps, "tree %d: node %ld has no parent", t, i);
			return false;
		}
	m->nnodes = base + n;
	return true;
}

/* The largest float <= d (d is not NaN): see struct fnode. */
static float float_floor(double d)
{
	float f = (float)d;

	return (double)f > d ? nextafterf(f, -INFINITY) : f;
}

/* Builds the prediction layout (struct fnode) from the validated trees:
 * read_tree guaranteed that every node but the root has exactly one
 * parent before it, so the breadth-first queue below visits each node of
 * a tree once and its n - 1 child links fill slots 1 .. n - 1. */
static int compile(struct fq_model *m)
{
	uint32_t *old = malloc(m->nnodes * sizeof(*old));
	int t;

	m->fn = malloc(m->nnodes * sizeof(*m->fn));
	m->fcls = malloc(m->nnodes * sizeof(*m->fcls));
	if (!old || !m->fn || !m->fcls) {
		/* fn and fcls go with the model in fq_model_free */
		free(old);
		return -1;
	}
	for (t = 0; t < m->ntrees; t++) {
		uint32_t b = m->roots[t], n = m->tree_len[t], k, next = 1;

		old[b] = b; /* old[new] = old absolute index; the root stays first */
		for (k = 0; k < n; k++) {
			const struct node *o = &m->nodes[old[b + k]];
			struct fnode *f = &m->fn[b + k];

			if (o->feat < 0) {
				f->thr = INFINITY;
				f->feat = 0;
				f->miss = 1;
				f->left = b + k;
				f->val = o->left;
				m->fcls[b + k] = o->right;
				continue;
			}
			f->thr = float_floor(o->thr);
			f->feat = o->feat;
			f->miss = o->miss_left;
			f->left = b + next;
			f->val = 0;
			m->fcls[b + k] = 0;
			old[b + next] = o->left;
			old[b + next + 1] = o->right;
			next += 2;
		}
	}
	free(old);
	return 0;
}

struct fq_model *fq_model_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	struct parser ps = { .err = err, .errlen = errlen };
	struct fq_model *m = calloc(1, sizeof(*m));
	size_t ncap = 0, vcap = 0, seencap = 0;
	uint8_t *seen = NULL;
	long v;
	int t;

	if (err && errlen)
		err[0] = '\0';
	if (!m) {
		perr(&ps, "out of memory");
		return NULL;
	}
	if (len > FQ_MODEL_MAX_BYTES) {
		perr(&ps, "file larger than %lu bytes", FQ_MODEL_MAX_BYTES);
		goto fail;
	}
	if (memchr(buf, '\0', len)) {
		perr(&ps, "NUL byte: not a text model file");
		goto fail;
	}
	ps.buf = malloc(len + 1);
	if (!ps.buf) {
		perr(&ps, "out of memory");
		goto fail;
	}
	memcpy(ps.buf, buf, len);
	ps.buf[len] = '\0';
	ps.p = ps.buf;
	ps.end = ps.buf + len;

	if (!next_line(&ps) || strcmp(ps.tok[0], "flowqoe-model")) {
		if (!ps.failed)
			perr(&ps, "not a flowqoe model file (no 'flowqoe-model' line first)");
		goto fail;
	}
	if (ps.ntok != 2 || strcmp(ps.tok[1], "1")) {
		perr(&ps, "unsupported model format version '%.20s' (this build reads 1)",
		     ps.ntok > 1 ? ps.tok[1] : "");
		goto fail;
	}
	if (!expect(&ps, "estimator", 1))
		goto fail;
	m->estimator = strdup(ps.tok[1]);
	if (!m->estimator) {
		perr(&ps, "out of memory");
		goto fail;
	}
	if (!expect(&ps, "task", 1))
		goto fail;
	if (!strcmp(ps.tok[1], "classification")) {
		m->task = FQ_MODEL_CLASSIFICATION;
	} else if (!strcmp(ps.tok[1], "regression")) {
		m->task = FQ_MODEL_REGRESSION;
	} else {
		perr(&ps, "task '%.40s' is neither classification nor regression", ps.tok[1]);
		goto fail;
	}
	if (!expect(&ps, "combine", 1))
		goto fail;
	if (!strcmp(ps.tok[1], "mean")) {
		m->mean = true;
	} else if (strcmp(ps.tok[1], "single")) {
		perr(&ps, "combine '%.40s' is neither single nor mean", ps.tok[1]);
		goto fail;
	}
	if (!expect(&ps, "features", 2) ||
	    !get_long(&ps, ps.tok[1], 1, FQ_MODEL_MAX_FEATURES, "feature count", &v))
		goto fail;
	m->nfeat = v;
	if (!strcmp(ps.tok[2], "named")) {
		m->named = true;
	} else if (strcmp(ps.tok[2], "positional")) {
		perr(&ps, "features are '%.40s', neither named nor positional", ps.tok[2]);
		goto fail;
	}
	if (!read_names(&ps, "f", m->nfeat, &m->feat_names))
		goto fail;
	if (m->task == FQ_MODEL_CLASSIFICATION) {
		if (!expect(&ps, "classes", 1) ||
		    !get_long(&ps, ps.tok[1], 1, FQ_MODEL_MAX_CLASSES, "class count", &v))
			goto fail;
		m->ncls = v;
		m->nout = v;
		if (!read_names(&ps, "c", m->ncls, &m->cls_names))
			goto fail;
	} else {
		m->nout = 1;
	}
	if (!expect(&ps, "trees", 1) ||
	    !get_long(&ps, ps.tok[1], 1, FQ_MODEL_MAX_TREES, "tree count", &v))
		goto fail;
	if (!m->mean && v != 1) {
		perr(&ps, "combine single with %ld trees", v);
		goto fail;
	}
	m->ntrees = v;
	m->roots = calloc(m->ntrees, sizeof(*m->roots));
	m->tree_len = calloc(m->ntrees, sizeof(*m->tree_len));
	if (!m->roots || !m->tree_len) {
		perr(&ps, "out of memory");
		goto fail;
	}
	for (t = 0; t < m->ntrees; t++)
		if (!read_tree(&ps, m, t, &ncap, &vcap, &seen, &seencap))
			goto fail;
	if (!expect(&ps, "end", 0))
		goto fail;
	if (next_line(&ps) || ps.failed) {
		perr(&ps, "data after 'end'");
		goto fail;
	}
	if (compile(m)) {
		perr(&ps, "out of memory");
		goto fail;
	}
	free(seen);
	free(ps.buf);
	return m;
fail:
	if (!ps.failed)
		perr(&ps, "malformed model");
	free(seen);
	free(ps.buf);
	fq_model_free(m);
	return NULL;
}

struct fq_model *fq_model_load(const char *path, char *err, size_t errlen)
{
	struct fq_model *m = NULL;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	FILE *f;
	int e;

	f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if ((unsigned long)st.st_size > FQ_MODEL_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %lu bytes", path, FQ_MODEL_MAX_BYTES);
		goto out;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	got = fread(buf, 1, st.st_size, f);
	if (ferror(f) || got != (size_t)st.st_size) {
		snprintf(err, errlen, "%s: read error", path);
		goto out;
	}
	m = fq_model_parse(buf, got, err, errlen);
	if (!m && err && errlen) {
		/* prefix the path to the parser's message */
		char tmp[512];

		snprintf(tmp, sizeof(tmp), "%s", err);
		e = snprintf(err, errlen, "%s: %s", path, tmp);
		(void)e;
	}
out:
	free(buf);
	fclose(f);
	return m;
}

void fq_model_free(struct fq_model *m)
{
	int i;

	if (!m)
		return;
	if (m->feat_names)
		for (i = 0; i < m->nfeat; i++)
			free(m->feat_names[i]);
	if (m->cls_names)
		for (i = 0; i < m->ncls; i++)
			free(m->cls_names[i]);
	free(m->feat_names);
	free(m->cls_names);
	free(m->estimator);
	free(m->roots);
	free(m->tree_len);
	free(m->nodes);
	free(m->vals);
	free(m->fn);
	free(m->fcls);
	free(m);
}

/* ---- accessors ---------------------------------------------------------- */

enum fq_model_task fq_model_task(const struct fq_model *m) { return m->task; }
const char *fq_model_estimator(const struct fq_model *m) { return m->estimator; }
int fq_model_ntrees(const struct fq_model *m) { return m->ntrees; }
int fq_model_nfeatures(const struct fq_model *m) { return m->nfeat; }
int fq_model_named(const struct fq_model *m) { return m->named; }
int fq_model_nclasses(const struct fq_model *m) { return m->ncls; }

const char *fq_model_feature_name(const struct fq_model *m, int i)
{
	return i >= 0 && i < m->nfeat ? m->feat_names[i] : NULL;
}

const char *const *fq_model_feature_names(const struct fq_model *m)
{
	return (const char *const *)m->feat_names;
}

int fq_model_feature_index(const struct fq_model *m, const char *name)
{
	for (int i = 0; i < m->nfeat; i++)
		if (!strcmp(m->feat_names[i], name))
			return i;
	return -1;
}

const char *fq_model_class_name(const struct fq_model *m, int i)
{
	return i >= 0 && i < m->ncls ? m->cls_names[i] : NULL;
}

const char *const *fq_model_class_names(const struct fq_model *m)
{
	return (const char *const *)m->cls_names;
}

int fq_model_tree_nodes(const struct fq_model *m, int tree)
{
	return tree >= 0 && tree < m->ntrees ? (int)m->tree_len[tree] : 0;
}

void fq_model_tree_node(const struct fq_model *m, int tree, int node, struct fq_model_node *out)
{
	uint32_t base = m->roots[tree];
	const struct node *nd = &m->nodes[base + node];

	memset(out, 0, sizeof(*out));
	out->feature = nd->feat;
	if (nd->feat < 0) {
		out->left = out->right = -1;
		out->value = &m->vals[nd->left];
	} else {
		out->left = nd->left - base;
		out->right = nd->right - base;
		out->missing_left = nd->miss_left;
		out->threshold = nd->thr;
	}
}

/* ---- prediction --------------------------------------------------------- */

/* One step of scikit-learn's _apply_dense: NaN follows missing_go_to_left,
 * otherwise the float32 feature is compared with <= (see struct fnode).
 * Rows without NaN take step_fast: for them the NaN test is dead weight
 * on a path that is only a few instructions long. */
static inline uint32_t step(const struct fnode *fn, uint32_t c, const float *x)
{
	const struct fnode *n = &fn[c];
	float v = x[n->feat];
	uint32_t left = (v <= n->thr) | ((v != v) & n->miss);

	return n->left + (left ^ 1);
}

static inline uint32_t step_fast(const struct fnode *fn, uint32_t c, const float *x)
{
	const struct fnode *n = &fn[c];

	return n->left + !(x[n->feat] <= n->thr);
}

static inline bool has_nan(const float *x, int n)
{
	bool nan = false;

	for (int i = 0; i < n; i++)
		nan |= x[i] != x[i];
	return nan;
}

/* One walk to a leaf.  The loop's exit is its only branch, mispredicted
 * once; bounding it by the tree's depth instead would step in place at the
 * leaf for as long as the deepest path is longer than this one. */
static inline uint32_t walk1(const struct fnode *fn, uint32_t c, const float *x, bool nan)
{
	uint32_t p;

	do {
		p = c;
		c = nan ? step(fn, p, x) : step_fast(fn, p, x);
	} while (c != p);
	return c;
}

/* Eight walks advance in lock step, each lane in its own registers: one
 * walk is a chain of dependent loads (node, then feature, then the next
 * node), and independent chains overlap in the core.  No branch in a
 * chunk of 4 steps depends on the data, so none is mispredicted; a lane at
 * its leaf steps in place.  After each chunk, lanes at a leaf take their
 * next job, so on unbalanced (fully grown) trees a lane waits at most 3
 * steps for the others, never for the deepest path of the group. */
#define LANES 8
#define L8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* 4 steps of every lane; returns the mask of lanes at a leaf. */
static inline unsigned walk4(const struct fnode *fn, uint32_t *cur, const float *const *xp)
{
#define DECL(j) uint32_t c##j = cur[j]; const float *x##j = xp[j];
#define STEP(j) c##j = step_fast(fn, c##j, x##j);
#define LAST(j) { uint32_t n = step_fast(fn, c##j, x##j); at |= (unsigned)(n == c##j) << j; c##j = n; }
#define BACK(j) cur[j] = c##j;
	unsigned at = 0;

	L8(DECL)
	L8(STEP)
	L8(STEP)
	L8(STEP)
	L8(LAST)
	L8(BACK)
	return at;
#undef DECL
#undef STEP
#undef LAST
#undef BACK
}

/* Leaves of n jobs, rows without NaN: job i walks from roots[i * rstep]
 * (rstep 0: one tree for all jobs) over row r = idx ? idx[i] : i at
 * x + r * xstride (xstride 0: one row for all) and leaves its leaf in
 * leaf[r]. */
static void walk_jobs(const struct fnode *fn, const uint32_t *roots, size_t rstep,
		      const float *x, size_t xstride, const uint32_t *idx, uint32_t n,
		      uint32_t *leaf)
{
	uint32_t cur[LANES], row[LANES], next = 0, r;
	const float *xp[LANES];
	unsigned at, idle = 0;
	int j;

	if (n < LANES) {
		for (uint32_t i = 0; i < n; i++) {
			r = idx ? idx[i] : i;
			leaf[r] = walk1(fn, roots[i * rstep], x + r * xstride, false);
		}
		return;
	}
	for (j = 0; j < LANES; j++, next++) {
		row[j] = r = idx ? idx[next] : next;
		cur[j] = roots[next * rstep];
		xp[j] = x + r * xstride;
	}
	while (idle != (1u << LANES) - 1) {
		at = walk4(fn, cur, xp) & ~idle;
		while (at) {
			j = __builtin_ctz(at);
			at &= at - 1;
			leaf[row[j]] = cur[j];
			if (next == n) {
				/* no job left: the lane steps in place at
				 * its leaf until the others are done */
				idle |= 1u << j;
				continue;
			}
			row[j] = r = idx ? idx[next] : next;
			cur[j] = roots[next * rstep];
			xp[j] = x + r * xstride;
			next++;
		}
	}
}

/* numpy argmax: the first maximum */
static inline int argmax(const double *v, int n)
{
	int best = 0;

	for (int k = 1; k < n; k++)
		if (v[k] > v[best])
			best = k;
	return best;
}

/* Trees per chunk in single-row mode: their leaves are found in any
 * order, then summed in tree order (same rounding as scikit-learn). */
#define TCHUNK 128

void fq_model_predict_scores(const struct fq_model *m, const float *x, double *out)
{
	uint32_t leaf[TCHUNK];
	int k, t, no = m->nout;

	for (k = 0; k < no; k++)
		out[k] = 0;
	bool nan = has_nan(x, m->nfeat);

	for (t = 0; t < m->ntrees; t += TCHUNK) {
		uint32_t nt = m->ntrees - t < TCHUNK ? m->ntrees - t : TCHUNK;

		if (nan)
			for (uint32_t i = 0; i < nt; i++)
				leaf[i] = walk1(m->fn, m->roots[t + i], x, true);
		else
			walk_jobs(m->fn, m->roots + t, 1, x, 0, NULL, nt, leaf);
		for (uint32_t i = 0; i < nt; i++) {
			const double *v = &m->vals[m->fn[leaf[i]].val];

			for (k = 0; k < no; k++)
				out[k] += v[k];
		}
	}
	/* forests divide by the tree count before argmax, as predict_proba
	 * does: the division may round two different sums to one value */
	if (m->mean)
		for (k = 0; k < no; k++)
			out[k] /= m->ntrees;
}

int fq_model_predict(const struct fq_model *m, const float *x)
{
	double acc[FQ_MODEL_MAX_CLASSES];

	if (m->task != FQ_MODEL_CLASSIFICATION)
		return -1;
	if (!m->mean)
		/* one walk: testing its few features for NaN costs less than
		 * scanning the row */
		return m->fcls[walk1(m->fn, m->roots[0], x, true)];
	fq_model_predict_scores(m, x, acc);
	return argmax(acc, m->ncls);
}

int fq_model_predict_fn(const void *m, const float *x)
{
	return fq_model_predict(m, x);
}

double fq_model_predict_value(const struct fq_model *m, const float *x)
{
	double v;

	if (m->task == FQ_MODEL_CLASSIFICATION)
		return fq_model_predict(m, x);
	fq_model_predict_scores(m, x, &v);
	return v;
}

/* Rows per block in batch mode: one tree at a time is walked for every
 * row of the block, so each tree is brought into the cache once per block
 * instead of once per row.  A tree that fits in L1 costs little to bring
 * back: small blocks keep the block's rows and sums (BLOCK * nout doubles)
 * in L1 too.  A bigger tree (fully grown forests: 50-100 KiB a tree, MBs
 * in all) comes from L3 or memory on every block, and only many rows per
 * block amortise that: measured on bench/model.sh, 100 fully grown trees
 * ran 5x faster with 16384 rows per block than with 256. */
#define BLOCK_SMALL 256
#define BLOCK_BIG 16384
#define BIG_TREE (32 << 10)
#define SCRATCH_MAX (8 << 20)

static size_t block_rows(const struct fq_model *m)
{
	size_t per_row = (m->mean ? m->nout * sizeof(double) : 0) + 3 * sizeof(uint32_t);
	size_t rows = BLOCK_SMALL;

	if (m->nnodes * sizeof(struct fnode) / m->ntrees > BIG_TREE)
		rows = BLOCK_BIG;
	while (rows > BLOCK_SMALL && rows * per_row > SCRATCH_MAX)
		rows /= 2;
	return rows;
}

static void put(const struct fq_model *m, size_t i, const double *a, int *cls, double *val)
{
	if (m->task == FQ_MODEL_CLASSIFICATION) {
		int c = argmax(a, m->nout);

		if (cls)
			cls[i] = c;
		if (val)
			val[i] = c;
	} else {
		if (val)
			val[i] = a[0];
		if (cls)
			cls[i] = -1;
	}
}

/* Leaves of one tree for the nb rows of a block: rows without NaN
 * (clean, or all of them when clean is NULL) in lanes, the others one by
 * one on the exact NaN path. */
static void block_leaves(const struct fq_model *m, uint32_t root, const float *X, uint32_t nb,
			 const uint32_t *clean, uint32_t nclean, const uint32_t *dirty,
			 uint32_t ndirty, uint32_t *leaf)
{
	walk_jobs(m->fn, &root, 0, X, m->nfeat, clean, clean ? nclean : nb, leaf);
	for (uint32_t i = 0; i < ndirty; i++)
		leaf[dirty[i]] = walk1(m->fn, root, X + (size_t)dirty[i] * m->nfeat, true);
}

void fq_model_predict_batch(const struct fq_model *m, const float *X, size_t n, int *cls,
			    double *val)
{
	double *acc, one[FQ_MODEL_MAX_CLASSES];
	uint32_t *leaf, *clean, *dirty, nclean, ndirty;
	size_t i, b, nb, rows = block_rows(m), nacc;
	int t, k, no = m->nout;
	void *scratch;

	if (n < rows)
		rows = n;
	nacc = m->mean ? rows * no : 0; /* a single tree sums nothing */
	scratch = malloc(nacc * sizeof(*acc) + 3 * rows * sizeof(*leaf) + 1);
	if (!scratch) {
		/* no memory for the block: row by row needs none */
		for (i = 0; i < n; i++) {
			fq_model_predict_scores(m, X + i * m->nfeat, one);
			put(m, i, one, cls, val);
		}
		return;
	}
	acc = scratch;
	leaf = (uint32_t *)(acc + nacc);
	clean = leaf + rows;
	dirty = clean + rows;
	for (b = 0; b < n; b += nb) {
		const float *Xb = X + b * m->nfeat;

		nb = n - b < rows ? n - b : rows;
		nclean = ndirty = 0;
		for (i = 0; i < nb; i++) {
			if (has_nan(Xb + i * m->nfeat, m->nfeat))
				dirty[ndirty++] = i;
			else
				clean[nclean++] = i;
		}
		if (!m->mean) {
			/* single tree: tree_.value as stored, no sum */
			block_leaves(m, m->roots[0], Xb, nb, ndirty ? clean : NULL, nclean, dirty,
				     ndirty, leaf);
			for (i = 0; i < nb; i++) {
				if (m->task == FQ_MODEL_CLASSIFICATION) {
					if (cls)
						cls[b + i] = m->fcls[leaf[i]];
					if (val)
						val[b + i] = m->fcls[leaf[i]];
				} else {
					put(m, b + i, &m->vals[m->fn[leaf[i]].val], cls, val);
				}
			}
			continue;
		}
		memset(acc, 0, nb * no * sizeof(*acc));
		for (t = 0; t < m->ntrees; t++) {
			block_leaves(m, m->roots[t], Xb, nb, ndirty ? clean : NULL, nclean, dirty,
				     ndirty, leaf);
			/* per row the sum still runs over trees in order: same
			 * rounding as row by row */
			for (i = 0; i < nb; i++) {
				const double *v = &m->vals[m->fn[leaf[i]].val];
				double *a = &acc[i * no];

				for (k = 0; k < no; k++)
					a[k] += v[k];
			}
		}
		for (i = 0; i < nb; i++) {
			double *a = &acc[i * no];

			for (k = 0; k < no; k++)
				a[k] /= m->ntrees;
			put(m, b + i, a, cls, val);
		}
	}
	free(scratch);
}
