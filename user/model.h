/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Tree-model engine: loads a models/FORMAT.md file (decision tree, random
 * forest or extra trees, classifier or regressor, converted from
 * scikit-learn by models/from_sklearn.py) and predicts bit for bit what
 * scikit-learn's predict() does on the same float64 inputs: features are
 * cast to float, compared as (double)x <= threshold, forests sum their
 * trees' leaf vectors in tree order in double, divide by the tree count and
 * take the first maximum.
 *
 * A loaded model is read-only: any number of threads may call the predict
 * functions on it at once without locking.
 */
#ifndef FQ_MODEL_H
#define FQ_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Loader limits: a file beyond them is refused, not truncated. */
#define FQ_MODEL_MAX_FEATURES 65536
#define FQ_MODEL_MAX_CLASSES 256
#define FQ_MODEL_MAX_TREES 100000
#define FQ_MODEL_MAX_NODES (1u << 26) /* all trees together */
#define FQ_MODEL_MAX_BYTES (1ul << 30)

enum fq_model_task { FQ_MODEL_CLASSIFICATION, FQ_MODEL_REGRESSION };

struct fq_model;

/* NULL on error, with a message ("line N: why") in err. */
struct fq_model *fq_model_load(const char *path, char *err, size_t errlen);
struct fq_model *fq_model_parse(const char *buf, size_t len, char *err, size_t errlen);
void fq_model_free(struct fq_model *m);

enum fq_model_task fq_model_task(const struct fq_model *m);
const char *fq_model_estimator(const struct fq_model *m); /* "RandomForestClassifier" */
int fq_model_ntrees(const struct fq_model *m);
int fq_model_nfeatures(const struct fq_model *m);
/* Positional models were fitted without feature names: their names are
 * x0, x1, ... and callers take features in order. */
int fq_model_named(const struct fq_model *m);
const char *fq_model_feature_name(const struct fq_model *m, int i);
const char *const *fq_model_feature_names(const struct fq_model *m);
int fq_model_feature_index(const struct fq_model *m, const char *name); /* -1: none */
int fq_model_nclasses(const struct fq_model *m); /* 0 for regressors */
const char *fq_model_class_name(const struct fq_model *m, int i);
const char *const *fq_model_class_names(const struct fq_model *m);

/* x: nfeatures floats in the model's feature order (NaN takes the branch
 * scikit-learn's missing_go_to_left says).  Class index; -1 for a
 * regressor. */
int fq_model_predict(const struct fq_model *m, const float *x);
/* Same, with the signature struct fq_clf_model (classify.h) wants. */
int fq_model_predict_fn(const void *m, const float *x);
/* Regressor output; for a classifier, the class index as a double. */
double fq_model_predict_value(const struct fq_model *m, const float *x);
/* Class scores argmax is taken over (forest: predict_proba; single tree:
 * the leaf's tree_.value).  out: nclasses doubles. */
void fq_model_predict_scores(const struct fq_model *m, const float *x, double *out);
/* n rows of nfeatures floats (row-major).  Classifiers fill cls (class
 * indices), regressors val; the other may be NULL.  Same results as row by
 * row, faster on forests (trees outer loop over blocks of rows). */
void fq_model_predict_batch(const struct fq_model *m, const float *X, size_t n, int *cls,
			    double *val);

/* Tree structure, for `flowqoe model explain`.  Node indices are local to
 * a tree; node 0 is the root; a leaf has feature -1. */
struct fq_model_node {
	int feature;
	int left, right;
	int missing_left;
	double threshold;
	const double *value; /* leaf: nclasses (classifier) or 1 values */
};
int fq_model_tree_nodes(const struct fq_model *m, int tree);
void fq_model_tree_node(const struct fq_model *m, int tree, int node, struct fq_model_node *out);

#endif
