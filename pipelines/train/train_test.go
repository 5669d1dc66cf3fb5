package train_test

import (
	"context"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/pipelines/train"
)

func TestModelConfigRoundTrip(t *testing.T) {
	c := train.ModelConfig{ModelSpec: train.ModelSpec{Name: "hstu", Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 8},
		Hierarchical: hstu.HierarchicalParams{Level1WindowSize: 4}}, Items: 10, MaxSeqLen: 6}
	got, err := train.ParseModelConfig(c.JSON())
	if err != nil || got.Transformer != c.Transformer || got.Hierarchical != c.Hierarchical || got.Items != 10 || got.MaxSeqLen != 6 {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, c)
	}
	for _, name := range []string{"hstu", "sasrec"} {
		c.Name = name
		m, err := train.BuildModel(c, 1)
		if err != nil || m.Name() != name || m.ItemTable().Rows() != 10 || m.MaxLen() != 6 {
			t.Errorf("BuildModel(%s) = %v, %v", name, m, err)
		}
	}
	c.Name = "gpt"
	if _, err := train.BuildModel(c, 1); err == nil || !strings.Contains(err.Error(), "unknown model \"gpt\"") {
		t.Errorf("unknown model: err = %v", err)
	}
}

func TestLoadDataErrors(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"", "no data folder"},
		{t.TempDir(), "is not a finished preprocess output (run genrec preprocess first)"},
	} {
		if _, err := train.LoadData(context.Background(), tc.dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadData(%q): err = %v, want %q", tc.dir, err, tc.want)
		}
	}
}
