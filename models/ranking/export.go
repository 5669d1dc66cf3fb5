package ranking

import (
	"context"
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"

	"github.com/genrec/genrec/export/onnx"
)

// ONNX builds the model's ONNX graph (history + candidate → probability;
// see onnx.HSTURanking). The mean-pooled baseline has none.
func (m *Model) ONNX(opt onnx.Options) (*pb.ModelProto, error) {
	if m.enc == nil {
		return nil, fmt.Errorf("ranking: the %s model cannot be exported: only the hstu encoder has an ONNX graph", m.Name())
	}
	return onnx.HSTURanking(m.enc, m.mlp, opt)
}

// ExportONNX writes the trained model as an ONNX file at path (local or
// gs://), atomically: the seed API's export_onnx for the ranking task.
func (t *Trainer) ExportONNX(ctx context.Context, path string, opt onnx.Options) error {
	mp, err := t.Model.ONNX(opt)
	if err != nil {
		return err
	}
	_, err = onnx.Write(ctx, path, mp)
	return err
}
