package tiger

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/genrec/genrec/models/kernels"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// TestLearnsPlantedSuccessor trains a small model with trainer.Loop on
// sequences where item i is followed by item i+1 (mod 40) and checks that
// beam search then generates the successor: HR@1 >= 0.9 on held-out
// users, where chance is 1/40.
func TestLearnsPlantedSuccessor(t *testing.T) {
	const items = 41 // ids 1..40
	ids := make([][]int32, items)
	for i := 1; i < items; i++ {
		ids[i] = []int32{int32((i - 1) / 8), int32((i - 1) % 8)}
	}
	trie, err := NewTrie(ids)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var rows []transforms.SequenceRow
	for u := range 300 {
		start, n := 1+rng.IntN(40), 3+rng.IntN(4)
		seq := make([]int64, n)
		for j := range seq {
			seq[j] = int64((start+j-1)%40 + 1)
		}
		split := transforms.SplitTrain
		if u >= 250 {
			split = transforms.SplitTest
		}
		rows = append(rows, transforms.SequenceRow{User: int64(u), Split: split, Items: seq[:n-1], Target: seq[n-1]})
	}
	cfg := Config{Codes: []int{5, 8}, UserBuckets: 10, MaxItems: 4, Dim: 16, Heads: 2, HeadDim: 8, FFN: 32, EncLayers: 1, DecLayers: 1}
	m, err := New[float32](cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	train := Examples(rows, transforms.SplitTrain)
	idx := make([]int, len(train))
	for i := range idx {
		idx[i] = i
	}
	loop := &trainer.Loop{Examples: idx, BatchSize: 32, Seed: 1, Epochs: 30, Schedule: kernels.LRSchedule{Base: 1e-2},
		Optimizer: &trainer.Optimizer{AdamW: kernels.AdamW{Beta1: 0.9, Beta2: 0.98, Eps: 1e-8}},
		Objective: &Objective{Model: m, IDs: ids, Examples: train}}
	if _, err := loop.Run(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	test := Examples(rows, transforms.SplitTest)
	got, err := Metrics(m.Ranks(test, ids, trie, 10, items), []int{1, 10})
	if err != nil {
		t.Fatal(err)
	}
	if got["HR@1"] < 0.9 {
		t.Errorf("HR@1 = %.3f, HR@10 = %.3f after training; want HR@1 >= 0.9", got["HR@1"], got["HR@10"])
	}
}

func TestExamples(t *testing.T) {
	rows := []transforms.SequenceRow{
		{User: 1, Split: transforms.SplitTrain, Items: []int64{5, 6}, Target: 7},
		{User: 1, Split: transforms.SplitTest, Items: []int64{5, 6, 7, 8}, Target: 9},
	}
	tr := Examples(rows, transforms.SplitTrain)
	if len(tr) != 2 || tr[0].Target != 6 || len(tr[0].Hist) != 1 || tr[1].Target != 7 || len(tr[1].Hist) != 2 {
		t.Errorf("train examples %+v", tr)
	}
	te := Examples(rows, transforms.SplitTest)
	if len(te) != 1 || te[0].Target != 9 || len(te[0].Hist) != 4 {
		t.Errorf("test examples %+v", te)
	}
}
