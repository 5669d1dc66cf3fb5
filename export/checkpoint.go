package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"hash/crc32"
	"io"
	"math"

	"github.com/genrec/genrec/transforms"
)

// CheckpointVersion is the version of the checkpoint layout this build
// writes. Version 2 adds a CRC-32C per section; LoadCheckpoint still reads
// version 1 files (no checksums) and refuses other versions.
const CheckpointVersion = 2

// checkpointMagic starts every version 1 checkpoint file; checkpointMagic2
// every version 2 one.
const (
	checkpointMagic  = "genrec-checkpoint\n"
	checkpointMagic2 = "genrec-checkpoint v2\n"
)

// castagnoli is the CRC-32C table of version 2 sections.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
	data, err := c.Encode()
	if err != nil {
		return fmt.Errorf("export: encode checkpoint %s: %w", path, err)
	}
	if err := transforms.WriteFileAtomic(ctx, path, data); err != nil {
		return fmt.Errorf("export: write checkpoint: %w", err)
	}
	return nil
}

// Encode returns c in the version 2 layout: the magic line, then sections,
// each
//
//	length uint64 (little endian) | CRC-32C of payload uint32 | payload
//
// The first section is the gob of c without its parameters, then one
// section per parameter (the gob of its Tensor), in order. A flipped or
// missing byte anywhere fails a length or a checksum on load.
func (c *Checkpoint) Encode() ([]byte, error) {
	c.Version = CheckpointVersion
	var buf bytes.Buffer
	buf.WriteString(checkpointMagic2)
	meta := *c
	meta.Params = nil
	var sec bytes.Buffer
	section := func(v any) error {
		sec.Reset()
		if err := gob.NewEncoder(&sec).Encode(v); err != nil {
			return err
		}
		var h [12]byte
		binary.LittleEndian.PutUint64(h[:8], uint64(sec.Len()))
		binary.LittleEndian.PutUint32(h[8:], crc32.Checksum(sec.Bytes(), castagnoli))
		buf.Write(h[:])
		buf.Write(sec.Bytes())
		return nil
	}
	if err := section(struct {
		Checkpoint
		Tensors int
	}{meta, len(c.Params)}); err != nil {
		return nil, err
	}
	for i := range c.Params {
		if err := section(&c.Params[i]); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// LoadCheckpoint reads a checkpoint written by Save. Its errors name the
// file and say whether it is missing, not a checkpoint, truncated, corrupt
// (a section's checksum fails) or of another version.
func LoadCheckpoint(ctx context.Context, path string) (*Checkpoint, error) {
	data, err := transforms.ReadFile(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("export: read checkpoint: %w", err)
	}
	return DecodeCheckpointBytes(data, path)
}

// DecodeCheckpoint reads a checkpoint from r; name is used in errors.
func DecodeCheckpoint(r io.Reader, name string) (*Checkpoint, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("export: read checkpoint %s: %w", name, err)
	}
	return DecodeCheckpointBytes(data, name)
}

// DecodeCheckpointBytes decodes a version 1 or 2 checkpoint held in data;
// name is used in errors. It never panics on bad input.
func DecodeCheckpointBytes(data []byte, name string) (c *Checkpoint, err error) {
	defer func() {
		if r := recover(); r != nil { // gob on hostile input
			c, err = nil, fmt.Errorf("export: %s: truncated or corrupt checkpoint: %v", name, r)
		}
	}()
	switch {
	case bytes.HasPrefix(data, []byte(checkpointMagic2)):
		c, err = decodeV2(data[len(checkpointMagic2):], name)
	case bytes.HasPrefix(data, []byte(checkpointMagic)):
		c = new(Checkpoint)
		if err := gob.NewDecoder(bytes.NewReader(data[len(checkpointMagic):])).Decode(c); err != nil {
			return nil, fmt.Errorf("export: %s: truncated or corrupt checkpoint: %w", name, err)
		}
		if c.Version != 1 {
			return nil, fmt.Errorf("export: %s: checkpoint version %d, this build reads versions 1 and %d", name, c.Version, CheckpointVersion)
		}
	default:
		return nil, fmt.Errorf("export: %s is not a genrec checkpoint", name)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// decodeV2 reads the sections of a version 2 checkpoint (Encode).
func decodeV2(data []byte, name string) (*Checkpoint, error) {
	off := 0
	section := func(what string, v any) error {
		if len(data)-off < 12 {
			return fmt.Errorf("export: %s: truncated checkpoint: %s is missing (file ends at byte %d)", name, what, len(checkpointMagic2)+len(data))
		}
		n := binary.LittleEndian.Uint64(data[off:])
		sum := binary.LittleEndian.Uint32(data[off+8:])
		off += 12
		if n > uint64(len(data)-off) {
			return fmt.Errorf("export: %s: truncated or corrupt checkpoint: %s claims %d bytes, %d remain", name, what, n, len(data)-off)
		}
		payload := data[off : off+int(n)]
		off += int(n)
		if crc32.Checksum(payload, castagnoli) != sum {
			return fmt.Errorf("export: %s: corrupt checkpoint: the checksum of %s fails", name, what)
		}
		if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(v); err != nil {
			return fmt.Errorf("export: %s: corrupt checkpoint: %s: %w", name, what, err)
		}
		return nil
	}
	var meta struct {
		Checkpoint
		Tensors int
	}
	if err := section("the header", &meta); err != nil {
		return nil, err
	}
	if meta.Version != CheckpointVersion {
		return nil, fmt.Errorf("export: %s: checkpoint version %d, this build reads versions 1 and %d", name, meta.Version, CheckpointVersion)
	}
	if meta.Tensors < 0 || meta.Tensors > len(data) {
		return nil, fmt.Errorf("export: %s: corrupt checkpoint: %d parameters", name, meta.Tensors)
	}
	c := meta.Checkpoint
	c.Params = make([]Tensor, meta.Tensors)
	for i := range c.Params {
		if err := section(fmt.Sprintf("parameter %d of %d", i+1, meta.Tensors), &c.Params[i]); err != nil {
			return nil, err
		}
		if t := &c.Params[i]; !validTensor(t) {
			return nil, fmt.Errorf("export: %s: corrupt checkpoint: parameter %s has shape %v but %d values", name, t.Name, t.Shape, len(t.Value))
		}
	}
	if off != len(data) {
		return nil, fmt.Errorf("export: %s: corrupt checkpoint: %d bytes after the last parameter", name, len(data)-off)
	}
	return &c, nil
}

// validTensor reports whether t's shape, when it has one, holds exactly its
// values.
func validTensor(t *Tensor) bool {
	if len(t.Shape) == 0 {
		return true
	}
	n := 1
	for _, d := range t.Shape {
		if d < 0 || (d > 0 && n > math.MaxInt/d) {
			return false
		}
		n *= d
	}
	return n == len(t.Value)
}
