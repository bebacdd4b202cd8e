// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the model loader (`make fuzz`): any byte string is
 * either refused with a message or loads into a model whose every
 * prediction, score and node is in range.  Built with ASan/UBSan, so an
 * out-of-bounds read or overflow anywhere in parse or predict is a crash.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

static void check(const struct fq_model *m)
{
	int nf = fq_model_nfeatures(m), nc = fq_model_nclasses(m), t, i;
	static const float probes[] = { 0, -0.0f, 1, -1, 0.5f, 100, -100, 1e30f, -1e30f,
					INFINITY, -INFINITY, NAN };
	size_t np = sizeof(probes) / sizeof(probes[0]);
	float *x = malloc(nf * np * sizeof(float));
	int *cls = malloc(np * sizeof(int));
	double *val = malloc(np * sizeof(double)), sc[FQ_MODEL_MAX_CLASSES];

	if (!x || !cls || !val)
		abort();
	for (size_t r = 0; r < np; r++)
		for (i = 0; i < nf; i++)
			x[r * nf + i] = probes[(r + i) % np];
	fq_model_predict_batch(m, x, np, cls, val);
	for (size_t r = 0; r < np; r++) {
		int c = fq_model_predict(m, x + r * nf);

		if (c != cls[r])
			abort(); /* batch and row by row must agree */
		if (fq_model_task(m) == FQ_MODEL_CLASSIFICATION) {
			if (c < 0 || c >= nc || !fq_model_class_name(m, c))
				abort();
			fq_model_predict_scores(m, x + r * nf, sc);
		} else if (c != -1) {
			abort();
		}
	}
	for (i = 0; i < nf; i++)
		if (fq_model_feature_index(m, fq_model_feature_name(m, i)) != i)
			abort();
	for (t = 0; t < fq_model_ntrees(m); t++) {
		int n = fq_model_tree_nodes(m, t);

		for (i = 0; i < n; i++) {
			struct fq_model_node nd;

			fq_model_tree_node(m, t, i, &nd);
			if (nd.feature >= nf || (nd.feature >= 0 && (nd.left <= i || nd.right <= i ||
								    nd.left >= n || nd.right >= n)))
				abort();
		}
	}
	free(x);
	free(cls);
	free(val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct fq_model *m = fq_model_parse((const char *)data, size, err, sizeof(err));

	if (m)
		check(m);
	else if (!err[0])
		abort(); /* a refusal must say why */
	fq_model_free(m);
	return 0;
}
