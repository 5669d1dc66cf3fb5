package embeditems

import (
	"context"
	"fmt"
	"io"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/runners"
)

// ForModel runs the pipeline for an HLLM train spec on the runner ropt
// chooses: every item of item_text.items is encoded with
// llm_params.model_name into t.EmbeddingsDir(), reusing the vectors of
// texts that did not change since the last run. A line on progress (nil:
// none) says what was encoded. It returns the output folder, which
// t.LoadData and t.Resolve then read.
func ForModel(ctx context.Context, t models.TrainSpec, ropt runners.Options, progress io.Writer) (string, error) {
	dir, err := t.EmbeddingsDir()
	if err != nil {
		return "", err
	}
	it := t.ItemText
	res, err := Run(ctx, Config{Items: it.Items, Format: it.Format, Tags: it.Tags, MaxTags: it.MaxTags,
		Template: it.Template, Encoder: itemtext.EncoderName(t.LLM.ModelName), Dim: it.Dim, Pooling: it.Pooling, Out: dir}, ropt)
	if err != nil {
		return "", fmt.Errorf("train: item texts: %w", err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "item texts: %d items (%d encoded, %d reused) with %s in %s\n", res.Rows, res.Encoded, res.Reused, res.Encoder, dir)
	}
	return dir, nil
}
