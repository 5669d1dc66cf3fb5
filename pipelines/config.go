package pipelines

import (
	"bytes"
	"context"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/genrec/genrec/features"
	"github.com/genrec/genrec/models/tiger/experiment"
	"github.com/genrec/genrec/pipelines/preprocess"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/transforms"
)

// Job is a config file: one section per pipeline plus the feature schema,
// in the seed API's terms.
//
//	# Reproduce: genrec preprocess --config configs/ml-100k.yaml
//	preprocess:
//	  inputs: [../shared/data/ml-100k/u.data]
//	  format: ml-100k
//	  max_seq_len: 200
//	  out: out/ml-100k
//	features:
//	  user_features: [{type: sparse, name: user_id, embed_dim: 16}]
//	  item_features: [{type: sparse, name: item_id, embed_dim: 50}]
type Job struct {
	Preprocess preprocess.Config `yaml:"preprocess"`
	Features   *features.Schema  `yaml:"features"`
	Train      train.Config      `yaml:"train"`
	// Tiger is a TIGER run's configuration (genrec tiger --config).
	Tiger *experiment.Config `yaml:"tiger"`
}

// LoadJob reads a YAML (or JSON, a subset of YAML) config file, local or
// gs://. Unknown keys are errors that name the file and line, so a typo
// does not silently fall back to a default; they and the other mistakes in
// the file are transforms.ErrInvalid (a missing file is fs.ErrNotExist).
func LoadJob(ctx context.Context, path string) (Job, error) {
	b, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return Job{}, fmt.Errorf("config %s: %w", path, err)
	}
	var j Job
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&j); err != nil {
		return Job{}, transforms.Invalid(fmt.Errorf("config %s: %w", path, err))
	}
	if j.Features != nil {
		if err := j.Features.Validate(); err != nil {
			return Job{}, transforms.Invalid(fmt.Errorf("config %s: %w", path, err))
		}
		j.Preprocess.Schema = *j.Features
	}
	if j.Train.Data == "" {
		j.Train.Data = j.Preprocess.OutDir
	}
	return j, nil
}
