package export

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"io"

	"github.com/genrec/genrec/transforms"
)

// CheckpointVersion is the version of the checkpoint layout this build
// writes; LoadCheckpoint refuses others.
const CheckpointVersion = 1

// checkpointMagic starts every checkpoint file.
const checkpointMagic = "genrec-checkpoint\n"

// Tensor is one named parameter with its AdamW moments (nil before the
// first step).
type Tensor struct {
	Name  string
	Shape []int
	Value []float32
	M, V  []float32
}

// Checkpoint is everything needed to use a model or continue training it.
type Checkpoint struct {
	Version     int
	Model       string // "hstu", "sasrec"
	ModelConfig []byte // the model's configuration, JSON
	TrainConfig []byte // the trainer's options, JSON
	Vocab       []byte // the item vocabulary as features.Vocabs JSON; may be empty

	Epoch     int    // epochs completed
	Step      int    // optimizer steps taken
	EpochStep int    // batches done in epoch Epoch+1 (0 at an epoch boundary)
	RNG       []byte // the epoch's random state after EpochStep batches
	AdamSteps int

	Best      float64 // best validation metric so far
	BestEpoch int
	BadEpochs int // epochs since the best (early stopping)

	Params []Tensor
}

// Param returns the tensor called name, or nil.
func (c *Checkpoint) Param(name string) *Tensor {
	for i := range c.Params {
		if c.Params[i].Name == name {
			return &c.Params[i]
		}
	}
	return nil
}

// Save writes c to path (local or any Beam filesystem such as gs://)
// atomically: a reader sees the old file or the new one, never a part.
func (c *Checkpoint) Save(ctx context.Context, path string) error {
	c.Version = CheckpointVersion
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic)
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("export: encode checkpoint %s: %w", path, err)
	}
	if err := transforms.WriteFileAtomic(ctx, path, buf.Bytes()); err != nil {
		return fmt.Errorf("export: write checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint reads a checkpoint written by Save. Its errors name the
// file and say whether it is missing, not a checkpoint, truncated or of
// another version.
func LoadCheckpoint(ctx context.Context, path string) (*Checkpoint, error) {
	data, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("export: read checkpoint: %w", err)
	}
	return DecodeCheckpoint(bytes.NewReader(data), path)
}

// DecodeCheckpoint reads a checkpoint from r; name is used in errors.
func DecodeCheckpoint(r io.Reader, name string) (*Checkpoint, error) {
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != checkpointMagic {
		return nil, fmt.Errorf("export: %s is not a genrec checkpoint", name)
	}
	var c Checkpoint
	if err := gob.NewDecoder(r).Decode(&c); err != nil {
		return nil, fmt.Errorf("export: %s: truncated or corrupt checkpoint: %w", name, err)
	}
	if c.Version != CheckpointVersion {
		return nil, fmt.Errorf("export: %s: checkpoint version %d, this build reads version %d", name, c.Version, CheckpointVersion)
	}
	return &c, nil
}
