package export_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/genrec/genrec/export"
)

func TestCheckpointRoundTrip(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "last.ckpt")
	want := &export.Checkpoint{
		Model: "hstu", ModelConfig: []byte(`{"items":5}`), Epoch: 3, Step: 40, EpochStep: 2,
		RNG: []byte{1, 2, 3}, AdamSteps: 40, Best: 0.25, BestEpoch: 2, BadEpochs: 1,
		Params: []export.Tensor{{Name: "w", Shape: []int{2, 2}, Value: []float32{1, 2, 3, 4}, M: []float32{0, 0, 0, 1}, V: []float32{1, 1, 1, 1}}},
	}
	if err := want.Save(ctx, path); err != nil {
		t.Fatal(err)
	}
	got, err := export.LoadCheckpoint(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	if p := got.Param("w"); p == nil || p.Value[3] != 4 {
		t.Errorf("Param(w) = %+v", p)
	}
	if got.Param("nope") != nil {
		t.Error("Param(nope) is not nil")
	}
}

func TestLoadCheckpointErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ckpt")
	c := &export.Checkpoint{Model: "hstu", Params: []export.Tensor{{Name: "w", Value: make([]float32, 1000)}}}
	if err := c.Save(ctx, good); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	cases := []struct {
		name, content, want string
	}{
		{"missing.ckpt", "", "missing.ckpt"},
		{"text.ckpt", "hello world, not a checkpoint", "is not a genrec checkpoint"},
		{"cut.ckpt", string(data[:len(data)/2]), "truncated or corrupt"},
	}
	for _, tc := range cases {
		p := filepath.Join(dir, tc.name)
		if tc.content != "" {
			os.WriteFile(p, []byte(tc.content), 0o644)
		}
		_, err := export.LoadCheckpoint(ctx, p)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: err = %v, want it to name the file and say %q", tc.name, err, tc.want)
		}
	}
}
