package onnx

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/genrec/genrec/models/sasrec"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

func TestExportRefusesWhatItCannotWrite(t *testing.T) {
	sm, err := sasrec.New[float32](sasrec.Config{Items: 20, MaxSeqLen: 5, NumLayers: 1, NumHeads: 1, Hidden: 8}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Export(sm, Options{}); err == nil || !strings.Contains(err.Error(), `"sasrec"`) {
		t.Errorf("Export(sasrec) = %v, want an error naming the model", err)
	}
	m := randomModel(t, testConfigs()["full"], 1)
	for _, k := range []int{-1, 300, 1000} {
		if _, err := Export(m, Options{TopK: k}); err == nil || !strings.Contains(err.Error(), "top-k") {
			t.Errorf("TopK %d: err = %v, want a top-k error", k, err)
		}
	}
	if _, err := Export(m, Options{Quantization: "int4"}); err == nil {
		t.Error("quantization int4 was accepted")
	}
	if _, err := ParseQuantization("int4"); err == nil {
		t.Error("ParseQuantization(int4) succeeded")
	}
}

func TestRequestChecks(t *testing.T) {
	needRuntime(t)
	s := exportSession(t, randomModel(t, testConfigs()["full"], 1), Options{})
	good := Request{B: 2, S: 3, Items: []int64{1, 2, 3, 4, 0, 0}, Times: make([]int64, 6), Lengths: []int64{3, 1}, QueryTimes: []int64{0, 0}}
	if _, err := s.Run(good); err != nil {
		t.Fatalf("a good request failed: %v", err)
	}
	for name, mut := range map[string]func(*Request){
		"zero length":     func(r *Request) { r.Lengths[1] = 0 },
		"length over seq": func(r *Request) { r.Lengths[0] = 4 },
		"lengths count":   func(r *Request) { r.Lengths = r.Lengths[:1] },
		"items count":     func(r *Request) { r.Items = r.Items[:5] },
		"unknown item id": func(r *Request) { r.Items[0] = 300 },
		"no query times":  func(r *Request) { r.QueryTimes = nil },
		"empty request":   func(r *Request) { r.B = 0 },
	} {
		r := good
		r.Items, r.Lengths = append([]int64(nil), good.Items...), append([]int64(nil), good.Lengths...)
		mut(&r)
		if _, err := s.Run(r); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestEvaluateMatchesGenrec ranks test users with the exported model and
// with the Go model: the reports must agree (the rank of a target may move
// only where two scores are within float32 noise of each other).
func TestEvaluateMatchesGenrec(t *testing.T) {
	needRuntime(t)
	cfg := testConfigs()["hierarchical"]
	m := randomModel(t, cfg, 2)
	rng := rand.New(rand.NewPCG(8, 8))
	rows := randomRows(rng, 150, 40, cfg.Items, 1) // longer than max_seq_len: trimmed as genrec does
	for i := range rows {
		rows[i].User, rows[i].UserKey = int64(i), fmt.Sprint("u", i)
		rows[i].Target = int64(1 + rng.IntN(cfg.Items-1))
		train := rows[i]
		train.Split = transforms.SplitTrain
		rows = append(rows, train) // a training window: its items are masked in ranking
	}
	want, err := sequential.Evaluate(m, rows, transforms.SplitTest, []int{10, 50}, 64)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Evaluate(exportSession(t, m, Options{}), rows, transforms.SplitTest, cfg.MaxSeqLen, []int{10, 50}, 32)
	if err != nil {
		t.Fatal(err)
	}
	if got.Users != want.Users || got.HR[0] != want.HR[0] || got.HR[1] != want.HR[1] || math.Abs(got.MRR-want.MRR) > 1e-3 || math.Abs(got.AUC-want.AUC) > 1e-4 {
		t.Errorf("onnx report %+v, genrec %+v", got, want)
	}
}

func TestItemEmbeddingsParquet(t *testing.T) {
	m := randomModel(t, testConfigs()["full"], 1)
	rows, err := ItemEmbeddings(m, func(id int64) (string, bool) { return fmt.Sprint("item", id), true })
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 299 || rows[0].Item != 1 || rows[0].ItemKey != "item1" {
		t.Fatalf("%d rows, first %d %q; want 299 from item 1", len(rows), rows[0].Item, rows[0].ItemKey)
	}
	for _, r := range rows[:5] {
		n := 0.0
		for _, v := range r.Embedding {
			n += float64(v) * float64(v)
		}
		if math.Abs(n-1) > 1e-5 {
			t.Errorf("item %d: |embedding|^2 = %v, want 1", r.Item, n)
		}
	}
	path := filepath.Join(t.TempDir(), "items.parquet")
	if err := WriteItemEmbeddings(context.Background(), path, rows); err != nil {
		t.Fatal(err)
	}
	back, err := transforms.ReadParquetFile[ItemEmbedding](context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(rows) || back[7].ItemKey != rows[7].ItemKey || back[7].Embedding[3] != rows[7].Embedding[3] {
		t.Errorf("read back %d rows, row 7 %+v; want %+v", len(back), back[7], rows[7])
	}
	if _, err := ItemEmbeddings(m, func(id int64) (string, bool) { return "", id != 5 }); err == nil || !strings.Contains(err.Error(), "5") {
		t.Errorf("missing token: err = %v, want one naming item 5", err)
	}
}
