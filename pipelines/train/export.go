package train

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/genrec/genrec/eval"
	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/export/onnx"
	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/ranking"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// ExportConfig says what Export writes.
type ExportConfig struct {
	Checkpoint   string            // a best.ckpt or last.ckpt
	Out          string            // the .onnx file, local or gs://
	Items        string            // item-embedding Parquet; "" = Out with .items.parquet for .onnx; "-" = none
	TopK         int               // top_k_items per row (default 10)
	Quantization onnx.Quantization // none or int8
	// Data, when set, is the preprocess folder the model was trained on:
	// Export then ranks its test split with the written file in
	// onnxruntime and with the Go model, and reports both.
	Data      string
	BatchSize int
}

// ExportResult is what Export wrote and measured.
type ExportResult struct {
	Out, Items string
	Bytes      int64
	// Go and ONNX are the test-split reports of the Go model and of the
	// written file (Data set and onnxruntime present; else zero); for a
	// ranking model, GoRanking and ONNXRanking.
	Go, ONNX               eval.Report
	GoRanking, ONNXRanking eval.LabelledReport
	Checked                bool
}

// ItemsPath is where Export writes the item embeddings for out by default:
// model.onnx -> model.items.parquet.
func ItemsPath(out string) string {
	return strings.TrimSuffix(out, path.Ext(out)) + ".items.parquet"
}

// Export writes the checkpoint's model as ONNX and its item embeddings as
// Parquet, each atomically, and with Data set ranks the test split with
// both the file (in onnxruntime) and the Go model.
func Export(ctx context.Context, cfg ExportConfig) (ExportResult, error) {
	res := ExportResult{Out: cfg.Out}
	if cfg.Out == "" {
		return res, fmt.Errorf("train: no output file: set --out")
	}
	if cfg.Data != "" {
		if err := onnx.InitRuntime(); err != nil {
			return res, fmt.Errorf("train: checking the export on %s needs onnxruntime: %w", cfg.Data, err)
		}
	}
	ck, err := export.LoadCheckpoint(ctx, cfg.Checkpoint)
	if err != nil {
		return res, err
	}
	if strings.HasSuffix(ck.Model, "-ranking") {
		return exportRanking(ctx, cfg, ck)
	}
	m, mc, err := models.FromCheckpoint(ck, cfg.Checkpoint)
	if err != nil {
		return res, err
	}
	mp, err := onnx.Export(m, onnx.Options{TopK: cfg.TopK, Quantization: cfg.Quantization, Meta: map[string]string{
		"genrec.checkpoint": cfg.Checkpoint, "genrec.epoch": fmt.Sprint(ck.Epoch),
	}})
	if err != nil {
		return res, fmt.Errorf("%s: %w", cfg.Checkpoint, err)
	}
	data, err := onnx.Write(ctx, cfg.Out, mp)
	if err != nil {
		return res, err
	}
	res.Bytes = int64(len(data))
	if cfg.Items != "-" {
		res.Items = cfg.Items
		if res.Items == "" {
			res.Items = ItemsPath(cfg.Out)
		}
		if err := writeItems(ctx, res.Items, m, ck.Vocab, cfg.Checkpoint); err != nil {
			// The pair is one artifact: take the model back rather than
			// leave it without its item table.
			if _, rmErr := transforms.RemoveGlob(ctx, cfg.Out); rmErr != nil {
				err = fmt.Errorf("%w (and removing %s: %v)", err, cfg.Out, rmErr)
			}
			return res, err
		}
	}
	if cfg.Data == "" {
		return res, nil
	}
	rows, err := transforms.LoadDataset(ctx, cfg.Data)
	if err != nil {
		return res, err
	}
	if _, err := models.CheckpointCatalogue(ck, cfg.Checkpoint, rows.ItemVocab(), cfg.Data); err != nil {
		return res, fmt.Errorf("train: %w", err)
	}
	s, err := onnx.NewSession(cfg.Out, data, onnx.SessionOptions{})
	if err != nil {
		return res, err
	}
	defer s.Close()
	ks := []int{10, 50, 200}
	if res.Go, err = sequential.Evaluate(m, rows.Rows, transforms.SplitTest, ks, cfg.BatchSize); err != nil {
		return res, err
	}
	if res.ONNX, err = onnx.Evaluate(s, rows.Rows, transforms.SplitTest, mc.MaxSeqLen, ks, cfg.BatchSize); err != nil {
		return res, err
	}
	res.Checked = true
	return res, nil
}

// writeItems writes the model's normalised item table keyed by the
// checkpoint's item vocabulary.
func writeItems(ctx context.Context, out string, m sequential.Model, vocabJSON []byte, ckpt string) error {
	vs, err := features.ReadVocabsJSON(bytes.NewReader(vocabJSON), ckpt)
	if err != nil || vs["item_id"] == nil {
		return fmt.Errorf("train: %s holds no item vocabulary, which the item embeddings are keyed by (write them with --items -): %v", ckpt, err)
	}
	rows, err := onnx.ItemEmbeddings(m, vs["item_id"].Token)
	if err != nil {
		return fmt.Errorf("%s: %w", ckpt, err)
	}
	return onnx.WriteItemEmbeddings(ctx, out, rows)
}

// exportRanking writes a ranking checkpoint's model as ONNX (history +
// candidate -> probability) and with Data scores the test split with the
// file and with the Go model.
func exportRanking(ctx context.Context, cfg ExportConfig, ck *export.Checkpoint) (ExportResult, error) {
	res := ExportResult{Out: cfg.Out}
	m, err := ranking.FromCheckpoint(ck, cfg.Checkpoint)
	if err != nil {
		return res, err
	}
	mp, err := m.ONNX(onnx.Options{Quantization: cfg.Quantization, Meta: map[string]string{
		"genrec.checkpoint": cfg.Checkpoint, "genrec.epoch": fmt.Sprint(ck.Epoch)}})
	if err != nil {
		return res, fmt.Errorf("%s: %w", cfg.Checkpoint, err)
	}
	data, err := onnx.Write(ctx, cfg.Out, mp)
	if err != nil {
		return res, err
	}
	res.Bytes = int64(len(data))
	if cfg.Data == "" {
		return res, nil
	}
	t, d, err := rankingOn(ctx, m, cfg.Checkpoint, cfg.Data)
	if err != nil {
		return res, err
	}
	ex, _ := d.Examples(transforms.SplitTest)
	if res.GoRanking, err = t.Evaluate(ex); err != nil {
		return res, err
	}
	s, err := onnx.NewSession(cfg.Out, data, onnx.SessionOptions{})
	if err != nil {
		return res, err
	}
	defer s.Close()
	hist := m.Config().HSTU.MaxSeqLen - 1
	scored := make([]eval.Scored, 0, len(ex))
	for lo := 0; lo < len(ex); lo += 512 {
		batch := ex[lo:min(lo+512, len(ex))]
		p, err := s.RunRanking(ranking.RankingRequest(batch, hist))
		if err != nil {
			return res, err
		}
		for i, e := range batch {
			scored = append(scored, eval.Scored{User: e.User, Score: float64(p[i]), Label: float64(e.Label)})
		}
	}
	if res.ONNXRanking, err = eval.Labelled(scored); err != nil {
		return res, err
	}
	res.Checked = true
	return res, nil
}
