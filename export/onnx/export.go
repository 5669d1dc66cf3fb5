package onnx

import (
	"bytes"
	"context"
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/transforms"
)

// Export builds the ONNX graph of a trained model: HSTU, or HLLM with an
// HSTU user model (its fused item table, computed at export time, becomes
// the graph's item table: text-only items included). Any other model is
// refused with an error naming it, never exported as a wrong graph.
func Export(m sequential.Model, opt Options) (*pb.ModelProto, error) {
	switch m := m.(type) {
	case *hstu.Model[float32]:
		return HSTU(m, opt)
	case *hllm.Model[float32]:
		h, ok := m.HSTU()
		if !ok {
			return nil, fmt.Errorf("onnx: model hllm with llm_params.backbone %q cannot be exported: only an HSTU user model has an ONNX graph (backbone: hstu)", m.Config().LLM.Backbone)
		}
		// The fused item table, computed once, is the HSTU graph's item
		// table; scores are cosines (the logit scale does not change the
		// order).
		return HSTU(h, opt)
	}
	return nil, fmt.Errorf("onnx: model %q cannot be exported: only hstu and hllm have an ONNX graph (train with model: hstu)", m.Name())
}

// ItemEmbedding is one row of the item-embedding table written beside an
// ONNX file, for serving retrieval from an approximate-nearest-neighbour
// index: the dot product of a user_embedding with Embedding is the
// model's score of the item.
type ItemEmbedding struct {
	Item      int64     `parquet:"item"`     // encoded id: the column of scores, the value of top_k_items
	ItemKey   string    `parquet:"item_key"` // the item's original token
	Embedding []float32 `parquet:"embedding,list"`
}

// ItemEmbeddings returns the L2-normalised item table of m, one row per
// item (the padding id 0 left out), keyed by token(id).
func ItemEmbeddings(m sequential.Model, token func(id int64) (string, bool)) ([]ItemEmbedding, error) {
	table := sequential.ItemEmbeddings(m)
	d := m.Dim()
	rows := make([]ItemEmbedding, 0, len(table)/d-1)
	for id := int64(1); id < int64(len(table)/d); id++ {
		key, ok := token(id)
		if !ok {
			return nil, fmt.Errorf("onnx: item id %d has no token in the vocabulary", id)
		}
		rows = append(rows, ItemEmbedding{Item: id, ItemKey: key, Embedding: table[id*int64(d) : (id+1)*int64(d)]})
	}
	return rows, nil
}

// WriteItemEmbeddings writes rows as one Parquet file at path (local or
// gs://), atomically.
func WriteItemEmbeddings(ctx context.Context, path string, rows []ItemEmbedding) error {
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return fmt.Errorf("onnx: encode item embeddings: %w", err)
	}
	if err := transforms.WriteFileAtomic(ctx, path, buf.Bytes()); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}
