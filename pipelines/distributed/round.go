package distributed

import (
	"bytes"
	"context"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/genrec/genrec/export"
	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

func init() {
	// The elements carry a model (a few MB of float32): gob encodes them
	// in bulk, where the schema coder would go value by value.
	// (One named function per type: the SDK finds functions by symbol
	// name, which generic instances share.)
	beam.RegisterCoder(reflect.TypeOf(ShardUpdate{}), encodeUpdate, decodeUpdate)
	beam.RegisterCoder(reflect.TypeOf(accumulator{}), encodeAccumulator, decodeAccumulator)
	beam.RegisterCoder(reflect.TypeOf(Averaged{}), encodeAveraged, decodeAveraged)
	register.DoFn3x1[context.Context, int, func(ShardUpdate), error](&shardFn{})
	register.Emitter1[ShardUpdate]()
	register.Combiner3[accumulator, ShardUpdate, Averaged](&averageFn{})
	register.DoFn2x1[context.Context, Averaged, error](&writeRoundFn{})
}

func encodeGob[T any](v T) ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(v)
	return b.Bytes(), err
}

func decodeGob[T any](b []byte) (T, error) {
	var v T
	err := gob.NewDecoder(bytes.NewReader(b)).Decode(&v)
	return v, err
}

func encodeUpdate(v ShardUpdate) ([]byte, error)      { return encodeGob(v) }
func decodeUpdate(b []byte) (ShardUpdate, error)      { return decodeGob[ShardUpdate](b) }
func encodeAccumulator(v accumulator) ([]byte, error) { return encodeGob(v) }
func decodeAccumulator(b []byte) (accumulator, error) { return decodeGob[accumulator](b) }
func encodeAveraged(v Averaged) ([]byte, error)       { return encodeGob(v) }
func decodeAveraged(b []byte) (Averaged, error)       { return decodeGob[Averaged](b) }

// Round is one round's pipeline configuration.
type Round struct {
	Data    string          // preprocess output folder
	Options trainer.Options // the trainer's options (seed, batch size, loss, optimizer)
	Shards  int
	// Steps is the local steps per shard (0: to the end of each shard's
	// current epoch).
	Steps  int
	Rounds int    // the run's rounds, for the learning-rate schedule
	Round  int    // this round, from 1
	From   string // round Round-1's checkpoint
	To     string // where round Round's checkpoint goes
}

// Pipeline builds round rc into s: Shards work items, each a shard that
// trains from rc.From, averaged into one checkpoint written atomically to
// rc.To.
func Pipeline(s beam.Scope, rc Round) {
	s = s.Scope("distributed.Round")
	ids := make([]int, rc.Shards)
	for k := range ids {
		ids[k] = k
	}
	opts, err := json.Marshal(rc.Options)
	if err != nil {
		panic("distributed: " + err.Error())
	}
	// Reshuffle lets a runner give each shard its own worker.
	work := beam.Reshuffle(s, beam.CreateList(s, ids))
	updates := beam.ParDo(s, &shardFn{Data: rc.Data, Checkpoint: rc.From, Options: string(opts), Shards: rc.Shards, Steps: rc.Steps, Rounds: rc.Rounds}, work)
	avg := AverageUpdates(s, updates, rc.Shards)
	beam.ParDo0(s, &writeRoundFn{From: rc.From, To: rc.To, Round: rc.Round}, avg)
}

// shardFn trains one shard (the element: its index) for a round from
// Checkpoint and emits its ShardUpdate. The data and the checkpoint are
// loaded once per worker in Setup; every element starts from the
// checkpoint's weights again.
type shardFn struct {
	Data, Checkpoint string
	Options          string // trainer.Options, JSON
	Shards           int
	Steps, Rounds    int

	data *transforms.Dataset
	ck   *export.Checkpoint
	t    *shardTrainer
}

func (f *shardFn) Setup(ctx context.Context) error {
	var opt trainer.Options
	if err := json.Unmarshal([]byte(f.Options), &opt); err != nil {
		return fmt.Errorf("distributed: options: %w", err)
	}
	opt = opt.WithDefaults()
	data, err := transforms.LoadDataset(ctx, f.Data)
	if err != nil {
		return err
	}
	m, _, ck, err := models.Load(ctx, f.Checkpoint)
	if err != nil {
		return err
	}
	f.data, f.ck, f.t = data, ck, newShardTrainer(m, opt)
	return nil
}

func (f *shardFn) ProcessElement(ctx context.Context, k int, emit func(ShardUpdate)) error {
	u, err := f.t.shard(ctx, f.data.Rows, shardRows(f.data.Rows, k, f.Shards), f.ck, k, f.Shards, f.Steps, f.Rounds)
	if err != nil {
		return fmt.Errorf("distributed: shard %d of %d from %s: %w", k, f.Shards, f.Checkpoint, err)
	}
	emit(u)
	return nil
}

// writeRoundFn writes the averaged parameters as round Round's checkpoint
// To, with From's model configuration, vocabulary and early-stopping
// fields; the shards' states go in its RNG field as JSON.
type writeRoundFn struct {
	From, To string
	Round    int
}

func (f *writeRoundFn) ProcessElement(ctx context.Context, a Averaged) error {
	prev, err := export.LoadCheckpoint(ctx, f.From)
	if err != nil {
		return err
	}
	return roundCheckpoint(prev, a, f.Round).Save(ctx, f.To)
}

// roundCheckpoint is prev advanced to round by a.
func roundCheckpoint(prev *export.Checkpoint, a Averaged, round int) *export.Checkpoint {
	st, err := json.Marshal(roundState{Shards: a.States, Loss: a.Loss(), Examples: a.Examples})
	if err != nil {
		panic("distributed: " + err.Error())
	}
	ck := *prev
	ck.Epoch, ck.EpochStep, ck.RNG, ck.AdamSteps, ck.Params = round, 0, st, a.AdamSteps, a.Params
	ck.Step = 0
	for _, s := range a.States {
		ck.Step = max(ck.Step, s.Step)
	}
	return &ck
}

// roundPath is round r's checkpoint in dir.
func roundPath(dir string, r int) string {
	return transforms.JoinPath(dir, fmt.Sprintf("round-%03d.ckpt", r))
}
