package train

import (
	"context"
	"fmt"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/transforms"
)

// CheckCatalogue checks, before a pipeline runs, that data is a finished
// retrieval preprocess output with a sequences table and that checkpoint
// loads and was trained on the data's item catalogue — the same items under
// the same ids, not only as many (or on the data's
// items and text-only ones after them: CheckpointCatalogue). It returns that
// size (with padding id 0) and the checkpoint. Its errors name the folder
// or file at fault.
func CheckCatalogue(ctx context.Context, data, checkpoint string) (int, *export.Checkpoint, error) {
	sum, err := preprocess.ReadSummary(ctx, data)
	if err != nil {
		return 0, nil, fmt.Errorf("%s is not a finished preprocess output (run genrec preprocess first): %w", data, err)
	}
	if sum.Task == preprocess.TaskRanking {
		return 0, nil, fmt.Errorf("%s is a ranking data set (task: ranking); it has no sequences to rank (use genrec predict)", data)
	}
	table := transforms.JoinPath(data, transforms.TableSequences)
	if _, err := transforms.ExpandInputs(ctx, []string{transforms.JoinPath(table, "part-*.parquet")}); err != nil {
		return 0, nil, fmt.Errorf("sequences table of %s: %w", data, err)
	}
	ck, err := export.LoadCheckpoint(ctx, checkpoint)
	if err != nil {
		return 0, nil, err
	}
	mc, err := ParseModelConfig(ck.ModelConfig)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: %w", checkpoint, err)
	}
	// The identity of the catalogue, not only its size: a checkpoint of the
	// same size trained on other items ranks garbage without a word.
	vs, err := transforms.LoadVocabs(ctx, data)
	if err != nil {
		return 0, nil, err
	}
	if _, err := CheckpointCatalogue(ck, checkpoint, vs["item_id"], data); err != nil {
		return 0, nil, err
	}
	return mc.Items, ck, nil
}
