package train

import (
	"math/rand/v2"

	"github.com/genrec/genrec/models/sasrec"
	"github.com/genrec/genrec/models/sequential"
)

// newSASRec builds the SASRec baseline from the same transformer_params:
// num_layers, num_heads, hidden_size and dropout.
func newSASRec(c ModelConfig, rng *rand.Rand) (sequential.Model, error) {
	t := c.Transformer
	return sasrec.New[float32](sasrec.Config{Items: c.Items, MaxSeqLen: c.MaxSeqLen, NumLayers: t.NumLayers,
		NumHeads: t.NumHeads, Hidden: t.HiddenSize, Dropout: t.Dropout,
		Categories: c.Categories, ItemCategories: c.ItemCategories,
		UserFeatures: c.UserFeatures, UserFeatureLists: c.UserFeatureLists}, rng)
}
