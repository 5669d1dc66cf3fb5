// Package experiment runs TIGER end to end on a preprocess output folder:
// item features, the RQ-VAE tokenizer and its semantic IDs, the
// encoder-decoder trained on genrec's training session (validation by
// constrained beam search, early stopping), and the test split's
// HR/NDCG@K under DESIGN.md's leave-one-out protocol.
package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/tiger"
	"github.com/genrec/genrec/models/tiger/rqvae"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/transforms"
)

// Config is a TIGER run (the tiger: section of configs/*-tiger.yaml).
type Config struct {
	Data           string           `yaml:"data"`            // preprocess output folder
	Attributes     string           `yaml:"attributes"`      // optional: {"item key": [attribute ids]} JSON (S3-Rec item2attributes)
	ItemEmbeddings string           `yaml:"item_embeddings"` // optional: a genrec embed-items output folder
	AttrDim        int              `yaml:"attr_dim"`        // width of the attribute features; default 64
	CFDim          int              `yaml:"cf_dim"`          // width of the co-occurrence features; default 64, -1 = none
	CFWindow       int              `yaml:"cf_window"`       // co-occurrence window; default 3
	RQVAE          rqvae.Config     `yaml:"rqvae"`           // input_dim is set from the features
	RQVAEFit       rqvae.FitOptions `yaml:"rqvae_fit"`
	Model          tiger.Config     `yaml:"model"`
	Train          trainer.Options  `yaml:"train"`
	Beam           int              `yaml:"beam"`        // beam width at validation and test; default 50
	ValidUsers     int              `yaml:"valid_users"` // validation examples per evaluation (first N); default 2000, -1 = all
	TestUsers      int              `yaml:"test_users"`  // test examples scored (a seeded sample); 0 = all
	Ks             []int            `yaml:"ks"`          // default 10, 50
	Notes          io.Writer        `yaml:"-"`
}

// Result is what Run reports (and writes to <model_path>/metrics.json).
type Result struct {
	Items, TrainExamples int
	TestUsers            int     // users the test metrics average over
	Unique               float64 // items with a unique RQ-VAE tuple before the collision code
	CollisionCodes       int     // values of the collision code
	BestEpoch            int
	Valid, Test          map[string]float64
	RQVAESeconds         float64
	TrainSeconds         float64
	ExamplesPerSecond    float64
}

func (c Config) withDefaults() Config {
	if c.AttrDim == 0 {
		c.AttrDim = 64
	}
	if c.CFDim == 0 {
		c.CFDim = 64
	}
	if c.CFWindow == 0 {
		c.CFWindow = 3
	}
	if c.Beam == 0 {
		c.Beam = 50
	}
	if c.ValidUsers == 0 {
		c.ValidUsers = 2000
	}
	if c.Ks == nil {
		c.Ks = []int{10, 50}
	}
	if c.Notes == nil {
		c.Notes = io.Discard
	}
	return c
}

// Features builds the items x dim content table of data's catalogue.
func Features(ctx context.Context, c Config, data *transforms.Dataset) ([]float32, int, error) {
	c = c.withDefaults()
	items := data.Items()
	var tabs [][]float32
	var dims []int
	var ws []float64
	if c.CFDim > 0 {
		tabs, dims, ws = append(tabs, tiger.CooccurrenceFeatures(data.Rows, items, c.CFDim, c.CFWindow)), append(dims, c.CFDim), append(ws, 1)
	}
	if c.Attributes != "" {
		raw, err := transforms.ReadFile(ctx, c.Attributes)
		if err != nil {
			return nil, 0, fmt.Errorf("experiment: attributes: %w", err)
		}
		var byKey map[string][]int64
		if err := json.Unmarshal(raw, &byKey); err != nil {
			return nil, 0, fmt.Errorf("experiment: %s: want {\"item key\": [attribute ids]}: %w", c.Attributes, err)
		}
		attrs := map[int64][]int64{}
		for k, a := range byKey {
			if id := data.ItemVocab().ID(k); id > 0 {
				attrs[id] = a
			}
		}
		if len(attrs)*2 < items-1 {
			return nil, 0, fmt.Errorf("experiment: only %d of %d items of %s have attributes in %s: is it this data set's file?", len(attrs), items-1, data.Dir, c.Attributes)
		}
		tabs, dims, ws = append(tabs, tiger.AttributeFeatures(attrs, items, c.AttrDim)), append(dims, c.AttrDim), append(ws, 1)
	}
	if c.ItemEmbeddings != "" {
		rows, err := itemtext.LoadEmbeddings(ctx, c.ItemEmbeddings)
		if err != nil {
			return nil, 0, fmt.Errorf("experiment: item_embeddings: %w", err)
		}
		dim := 0
		var tab []float32
		found := 0
		for _, r := range rows {
			id := data.ItemVocab().ID(r.ItemKey)
			if id <= 0 {
				continue
			}
			if tab == nil {
				dim = len(r.Vector)
				tab = make([]float32, items*dim)
			}
			if len(r.Vector) != dim {
				return nil, 0, fmt.Errorf("experiment: %s: item %q has %d values, others %d", c.ItemEmbeddings, r.ItemKey, len(r.Vector), dim)
			}
			copy(tab[int(id)*dim:], r.Vector)
			found++
		}
		if found*2 < items-1 {
			return nil, 0, fmt.Errorf("experiment: only %d of %d items of %s are in %s", found, items-1, data.Dir, c.ItemEmbeddings)
		}
		normaliseRows(tab, dim)
		tabs, dims, ws = append(tabs, tab), append(dims, dim), append(ws, 1)
	}
	if len(tabs) == 0 {
		return nil, 0, fmt.Errorf("experiment: no item features: set cf_dim > 0, attributes or item_embeddings")
	}
	tab, w := tiger.Concat(items, tabs, dims, ws)
	return tab, w, nil
}

func normaliseRows(t []float32, d int) {
	for i := 0; i+d <= len(t); i += d {
		s := float32(0)
		for _, v := range t[i : i+d] {
			s += v * v
		}
		if s > 0 {
			inv := 1 / float32(math.Sqrt(float64(s)))
			for k := range t[i : i+d] {
				t[i+k] *= inv
			}
		}
	}
}

// SemanticIDRow is one row of semantic_ids.parquet.
type SemanticIDRow struct {
	Item      int64   `parquet:"item"`
	ItemKey   string  `parquet:"item_key"`
	Codes     []int32 `parquet:"codes,list"` // the RQ-VAE's L codes
	Collision int32   `parquet:"collision"`  // the further code that makes the tuple unique
}

// SemanticIDs trains the RQ-VAE on the features of data's items and
// returns every item's semantic ID (row = item id, nil for padding 0) with
// the collision code appended, the codes per level, and the fit report.
func SemanticIDs(ctx context.Context, c Config, data *transforms.Dataset) ([][]int32, []int, rqvae.FitReport, error) {
	c = c.withDefaults()
	feat, dim, err := Features(ctx, c, data)
	if err != nil {
		return nil, nil, rqvae.FitReport{}, err
	}
	rc := c.RQVAE
	rc.InputDim = dim
	m, err := rqvae.New[float32](rc, c.Train.Seed+1)
	if err != nil {
		return nil, nil, rqvae.FitReport{}, err
	}
	items := data.Items()
	fo := c.RQVAEFit
	fo.Log = c.Notes
	if fo.Seed == 0 {
		fo.Seed = c.Train.Seed + 1
	}
	rep, err := rqvae.Fit(ctx, m, feat[dim:], items-1, fo)
	if err != nil {
		return nil, nil, rep, err
	}
	ids, most := rqvae.Collisions(m.Codes(feat[dim:], items-1))
	codes := make([]int, 0, m.Config.Levels+1)
	for range m.Config.Levels {
		codes = append(codes, m.Config.Codes)
	}
	return append([][]int32{nil}, ids...), append(codes, most), rep, nil
}

// WriteSemanticIDs writes ids as Parquet to path (temp then rename).
func WriteSemanticIDs(ctx context.Context, path string, data *transforms.Dataset, ids [][]int32) error {
	rows := make([]SemanticIDRow, 0, len(ids))
	for id, t := range ids {
		if t == nil {
			continue
		}
		key, _ := data.ItemVocab().Token(int64(id))
		rows = append(rows, SemanticIDRow{Item: int64(id), ItemKey: key, Codes: t[:len(t)-1], Collision: t[len(t)-1]})
	}
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows); err != nil {
		return err
	}
	return transforms.WriteFileAtomic(ctx, path, buf.Bytes())
}

// Run is the whole experiment.
func Run(ctx context.Context, c Config) (Result, error) {
	c = c.withDefaults()
	var res Result
	data, err := transforms.LoadDataset(ctx, c.Data)
	if err != nil {
		return res, err
	}
	res.Items = data.Items() - 1
	start := time.Now()
	ids, codes, rep, err := SemanticIDs(ctx, c, data)
	if err != nil {
		return res, err
	}
	res.RQVAESeconds = time.Since(start).Seconds()
	res.Unique, res.CollisionCodes = rep.Unique, codes[len(codes)-1]
	fmt.Fprintf(c.Notes, "semantic IDs: %d items, %.1f%% unique before the collision code (collision code 0..%d), codes used per level %v, recon %.4f, %.0fs\n",
		res.Items, 100*rep.Unique, res.CollisionCodes-1, rep.UsedCodes, rep.Losses.Recon, res.RQVAESeconds)
	if c.Train.ModelPath != "" {
		if !strings.Contains(c.Train.ModelPath, "://") {
			if err := os.MkdirAll(c.Train.ModelPath, 0o755); err != nil {
				return res, err
			}
		}
		if err := WriteSemanticIDs(ctx, transforms.JoinPath(c.Train.ModelPath, "semantic_ids.parquet"), data, ids); err != nil {
			return res, err
		}
	}
	trie, err := tiger.NewTrie(ids)
	if err != nil {
		return res, err
	}
	mc := c.Model
	mc.Codes = codes
	model, err := tiger.New[float32](mc, c.Train.Seed)
	if err != nil {
		return res, err
	}
	trainEx := tiger.Examples(data.Rows, transforms.SplitTrain)
	validEx := tiger.Examples(data.Rows, transforms.SplitValid)
	testEx := tiger.Examples(data.Rows, transforms.SplitTest)
	res.TrainExamples = len(trainEx)
	if c.TestUsers > 0 && len(testEx) > c.TestUsers {
		r := rand.New(rand.NewPCG(c.Train.Seed, 98))
		r.Shuffle(len(testEx), func(i, j int) { testEx[i], testEx[j] = testEx[j], testEx[i] })
		testEx = testEx[:c.TestUsers]
	}
	res.TestUsers = len(testEx)
	if c.ValidUsers > 0 && len(validEx) > c.ValidUsers {
		r := rand.New(rand.NewPCG(c.Train.Seed, 99))
		r.Shuffle(len(validEx), func(i, j int) { validEx[i], validEx[j] = validEx[j], validEx[i] })
		validEx = validEx[:c.ValidUsers]
	}
	obj := &tiger.Objective{Model: model, IDs: ids, Examples: trainEx}
	opts := c.Train
	if opts.EarlyStopMetric == "" {
		opts.EarlyStopMetric = fmt.Sprintf("NDCG@%d", c.Ks[0])
	}
	sess, err := trainer.NewSession("tiger", obj, opts)
	if err != nil {
		return res, err
	}
	cfgJSON, _ := json.Marshal(model.Config)
	sess.ModelConfig, sess.Vocab, sess.Progress = cfgJSON, data.VocabJSON(), c.Notes
	sess.Validate = func() (map[string]float64, error) {
		m, err := tiger.Metrics(model.Ranks(validEx, ids, trie, c.Beam, data.Items()), c.Ks)
		if err == nil {
			fmt.Fprintf(c.Notes, "valid: %s\n", format(m, c.Ks))
		}
		return m, err
	}
	examples := make([]int, len(trainEx))
	for i := range examples {
		examples[i] = i
	}
	start = time.Now()
	fit, err := sess.Fit(ctx, examples)
	if err != nil {
		return res, err
	}
	res.TrainSeconds = time.Since(start).Seconds()
	res.BestEpoch = fit.BestEpoch
	if n := len(fit.Log); n > 0 {
		res.ExamplesPerSecond = fit.Log[n-1].ExamplesPerSecond
		res.Valid = fit.Log[n-1].Valid
		for _, e := range fit.Log {
			if e.Epoch == fit.BestEpoch {
				res.Valid = e.Valid
			}
		}
	}
	res.Test, err = tiger.Metrics(model.Ranks(testEx, ids, trie, c.Beam, data.Items()), c.Ks)
	if err != nil {
		return res, err
	}
	fmt.Fprintf(c.Notes, "test (%d users, beam %d): %s\n", len(testEx), c.Beam, format(res.Test, c.Ks))
	if c.Train.ModelPath != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(c.Train.ModelPath, "metrics.json"), append(b, '\n')); err != nil {
			return res, err
		}
	}
	return res, nil
}

func format(m map[string]float64, ks []int) string {
	var b bytes.Buffer
	for _, k := range ks {
		fmt.Fprintf(&b, "HR@%d %.4f NDCG@%d %.4f  ", k, m["HR@"+strconv.Itoa(k)], k, m["NDCG@"+strconv.Itoa(k)])
	}
	return b.String()
}
