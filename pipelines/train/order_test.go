package train_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/transforms"
)

// TestLoadDataOrderIsFixed preprocesses the same input twice (the
// pipeline writes rows in bundle order, which differs between runs) and
// checks that LoadData returns the rows in the same order, so that a seed
// fixes the model.
func TestLoadDataOrderIsFixed(t *testing.T) {
	var got [2]*transforms.Dataset
	for i := range got {
		dir := pipetest.MakeData(t, t.TempDir(), 200, 80, 0)
		d, err := transforms.LoadDataset(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		got[i] = d
	}
	if !reflect.DeepEqual(got[0].Rows, got[1].Rows) {
		t.Error("two preprocess runs of one input load in different orders")
	}
}
