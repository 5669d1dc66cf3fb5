package ranking_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/ranking"
	"github.com/genrec/genrec/models/trainer"
)

// The seed API's labelled example in Go: x = {user, history, item}, y =
// clicks; split 70/10/20 by time; fit with early stopping on validation
// AUC; evaluate AUC, GAUC and log loss; export ONNX; predict.
func Example() {
	rng := rand.New(rand.NewPCG(1, 1))
	var ex []ranking.Example
	for i := range 4000 {
		e := ranking.Example{User: int64(i % 100), Item: int64(1 + rng.IntN(49)), Timestamp: int64(1e9 + i)}
		for j := range 1 + rng.IntN(5) {
			e.History = append(e.History, int64(1+rng.IntN(49)))
			e.HistoryTimes = append(e.HistoryTimes, e.Timestamp-int64(100*(5-j)))
		}
		if e.Item%3 == e.History[len(e.History)-1]%3 { // clicks follow the last item seen
			e.Label = 1
		}
		ex = append(ex, e)
	}
	train, valid, test, err := ranking.Split(ex, [2]float64{0.7, 0.1}, "time", 1)
	if err != nil {
		panic(err)
	}
	model, err := ranking.New(ranking.Config{
		HSTU: hstu.Config{Items: 50, MaxSeqLen: 6, Transformer: hstu.TransformerParams{NumLayers: 2, NumHeads: 1, HiddenSize: 16}},
		MLP:  []int{16},
	}, rng)
	if err != nil {
		panic(err)
	}
	t, err := ranking.NewTrainer(model, ranking.Options{Epochs: 40, BatchSize: 64, Optimizer: trainer.OptimizerParams{LR: 5e-3}, EarlyStopPatience: 10})
	if err != nil {
		panic(err)
	}
	if _, err := t.Fit(context.Background(), train, valid); err != nil {
		panic(err)
	}
	rep, err := t.Evaluate(test)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d/%d/%d rows; test AUC above 0.9: %v\n", len(train), len(valid), len(test), rep.AUC > 0.9)
	if err := t.ExportONNX(context.Background(), "/tmp/genrec-example-ranking.onnx", onnx.Options{}); err != nil {
		panic(err)
	}
	p, err := t.Predict(test[:3])
	if err != nil {
		panic(err)
	}
	fmt.Println(len(p), "probabilities")
	// Output:
	// 2800/400/800 rows; test AUC above 0.9: true
	// 3 probabilities
}
