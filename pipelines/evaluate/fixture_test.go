package evaluate_test

import (
	"testing"

	"github.com/genrec/genrec/pipelines/internal/pipetest"
)

// The shared fixtures of pipelines/internal/pipetest.

func makeData(tb testing.TB, dir string, users, items int) string {
	return pipetest.MakeData(tb, dir, users, items, 0)
}

func trainModel(tb testing.TB, data, modelPath string) string {
	return pipetest.TrainModel(tb, data, modelPath)
}

func saveUntrained(tb testing.TB, path string, items, maxLen, layers, d int) {
	pipetest.SaveUntrained(tb, path, items, maxLen, layers, d)
}
