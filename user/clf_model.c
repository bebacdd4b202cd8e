// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Glue: a flowqoe model file as the classifier of window records. */
#include <string.h>
#include "common.h"
#include "model.h"
#include "winpipe.h"

int fq_clf_model_load(const char *path, struct fq_clf_model *m, void **handle)
{
	char err[256];
	struct fq_model *mod = fq_model_load(path, err, sizeof(err));

	*handle = NULL;
	if (!mod) {
		fq_err("--model %s: %s", path, err);
		return -1;
	}
	if (fq_model_task(mod) != FQ_MODEL_CLASSIFICATION) {
		fq_err("--model %s: a %s is a regressor; window classification needs a classifier",
		       path, fq_model_estimator(mod));
		fq_model_free(mod);
		return -1;
	}
	memset(m, 0, sizeof(*m));
	if (fq_clf_model_map(m, fq_model_feature_names(mod), fq_model_nfeatures(mod))) {
		fq_err("--model %s: its features are not window features", path);
		fq_model_free(mod);
		return -1;
	}
	m->model = mod;
	m->predict = fq_model_predict_fn;
	m->nclasses = fq_model_nclasses(mod);
	m->class_names = fq_model_class_names(mod);
	*handle = mod;
	return 0;
}

void fq_clf_model_unload(void *handle)
{
	fq_model_free(handle);
}
