package itemtext

import (
	"context"

	"github.com/genrec/genrec/transforms"
)

// EmbeddingsTable is the Parquet table of item text vectors in an
// embed-items output folder (pipelines/embeditems writes it; HLLM and
// TIGER read it).
const EmbeddingsTable = "item_embeddings.parquet"

// EmbeddingRow is one row of EmbeddingsTable.
type EmbeddingRow struct {
	ItemKey  string    `parquet:"item_key"` // the item's token in the metadata file
	Item     int64     `parquet:"item"`     // its encoded id, 0 without a vocabulary
	Vector   []float32 `parquet:"vector,list"`
	Encoder  string    `parquet:"encoder,dict"` // Encoder.ID
	TextHash string    `parquet:"text_hash"`    // hex SHA-256 of the encoded text
	Text     string    `parquet:"text"`         // the encoded text (HLLM's trainable encoder reads it)
}

// LoadEmbeddings reads EmbeddingsTable of the embed-items output folder
// out (local or gs://).
func LoadEmbeddings(ctx context.Context, out string) ([]EmbeddingRow, error) {
	return transforms.LoadTable[EmbeddingRow](ctx, transforms.JoinPath(out, EmbeddingsTable))
}

// EncoderHashed names the built-in HashedNGram encoder where an encoder is
// chosen by name (embed-items --encoder, llm_params.model_name).
const EncoderHashed = "hashed"

// EncoderName maps llm_params.model_name to an embed-items encoder name:
// the built-in hashed n-gram encoder for "", "hashed" and "hashed-ngram",
// else the name itself (a BERT or LLaMA folder).
func EncoderName(modelName string) string {
	switch modelName {
	case "", "hashed", "hashed-ngram":
		return EncoderHashed
	}
	return modelName
}
