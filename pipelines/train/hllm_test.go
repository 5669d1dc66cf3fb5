package train_test

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/genrec/genrec/models"
	"github.com/genrec/genrec/models/hllm"
	"github.com/genrec/genrec/models/hllm/itemtext"
	"github.com/genrec/genrec/models/hstu"
	"github.com/genrec/genrec/models/sequential"
	"github.com/genrec/genrec/models/trainer"
	"github.com/genrec/genrec/pipelines/evaluate"
	"github.com/genrec/genrec/pipelines/internal/pipetest"
	"github.com/genrec/genrec/pipelines/recommend"
	"github.com/genrec/genrec/pipelines/train"
	"github.com/genrec/genrec/runners"
	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

// hllmData preprocesses a synthetic data set and writes its items.csv
// ("Item 42 (category 7)"): the category, which drives the users' tastes,
// is in the text.
func hllmData(t *testing.T, users, items int) (data, itemsCSV string) {
	t.Helper()
	dir := t.TempDir()
	data = pipetest.MakeData(t, dir, users, items, 0)
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items, cfg.MeanLength = users, items, 15
	var b bytes.Buffer
	if err := synthetic.WriteItemsCSV(&b, cfg); err != nil {
		t.Fatal(err)
	}
	itemsCSV = filepath.Join(dir, "items.csv")
	if err := os.WriteFile(itemsCSV, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return data, itemsCSV
}

func hllmConfig(data, items, modelPath string, epochs int) train.Config {
	return train.Config{TrainSpec: models.TrainSpec{
		Data: data,
		Spec: models.Spec{Name: "hllm",
			LLM:      hllm.LLMParams{HiddenSize: 16, NumHeads: 1, NumLayers: 1},
			Fusion:   hllm.FusionParams{FusionType: hllm.FusionConcat},
			ItemText: &models.ItemText{Items: items, Dim: 32}},
		Options: trainer.Options{Epochs: epochs, BatchSize: 64, EarlyStopPatience: -1, Seed: 3, ModelPath: modelPath,
			Loss: sequential.LossConfig{Negatives: 16}, Optimizer: trainer.OptimizerParams{LR: 5e-3}},
	}}
}

// TestHLLMTrainsAndReloads trains HLLM through the train pipeline: the
// item texts are encoded first (and reused by a second run), the
// checkpoint carries the frozen text table, and a model loaded from it
// ranks the test split exactly as the trained one did.
func TestHLLMTrainsAndReloads(t *testing.T) {
	ctx := context.Background()
	data, items := hllmData(t, 200, 90)
	out := t.TempDir()
	var notes bytes.Buffer
	cfg := hllmConfig(data, items, out, 2)
	cfg.Notes = &notes
	res, err := train.Run(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes.String(), "90 items (90 encoded, 0 reused)") {
		t.Errorf("notes %q, want the 90 item texts encoded", notes.String())
	}
	m, mc, _, err := models.Load(ctx, res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name() != "hllm" || mc.TextDim != 32 {
		t.Fatalf("checkpoint holds %s with text_dim %d", m.Name(), mc.TextDim)
	}
	// The checkpoint's text table is the encoder's vectors, row by item id.
	rows, err := itemtext.LoadEmbeddings(ctx, filepath.Join(out, "item_text"))
	if err != nil {
		t.Fatal(err)
	}
	d0, err := transforms.LoadDataset(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	text := m.(*hllm.Model[float32]).Text.Value
	checked := 0
	for _, r := range rows {
		id := d0.ItemVocab().ID(r.ItemKey)
		if id <= 0 {
			continue
		}
		for j, v := range r.Vector {
			if text[int(id)*32+j] != v {
				t.Fatalf("item %s: text_emb[%d] = %v, encoder %v", r.ItemKey, j, text[int(id)*32+j], v)
			}
		}
		checked++
	}
	if checked < 80 {
		t.Fatalf("only %d items matched the vocabulary", checked)
	}
	rep, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: res.Checkpoint, Out: t.TempDir()}, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Near(res.Test, 1e-9) { // the pipeline sums users in another order
		t.Errorf("reloaded model: %v, trained %v", rep.Map(), res.Test.Map())
	}
	// Recommendations for a known and a new user: the new one gets the
	// popular items.
	users := filepath.Join(t.TempDir(), "users.txt")
	known := d0.Rows[0].UserKey
	os.WriteFile(users, []byte("new-user\n"+known+"\n\nnew-user\n"), 0o644)
	recs := filepath.Join(t.TempDir(), "recs")
	rr, err := recommend.Run(ctx, recommend.Config{Data: data, Checkpoint: res.Checkpoint, K: 5, Out: recs, Users: users}, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Users != 2 || rr.NewUsers != 1 {
		t.Errorf("recommend: %d users, %d new; want 2 and 1", rr.Users, rr.NewUsers)
	}
	// A file of no known user (a header, binary junk) is an error, not
	// everyone's popularity list (issue 15 item 6).
	junk := filepath.Join(t.TempDir(), "junk.txt")
	os.WriteFile(junk, []byte("user_id\n\x00\x01binary\n"), 0o644)
	if _, err := recommend.Run(ctx, recommend.Config{Data: data, Checkpoint: res.Checkpoint, K: 5, Out: recs + "-junk", Users: junk}, runners.Options{}); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("users file of no known user: err = %v, want one naming %s", err, junk)
	}
	got, err := transforms.LoadTable[recommend.Recommendation](ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	byUser := map[string][]recommend.Recommendation{}
	for _, r := range got {
		byUser[r.User] = append(byUser[r.User], r)
	}
	newRecs := byUser["new-user"]
	slices.SortFunc(newRecs, func(a, b recommend.Recommendation) int { return cmp.Compare(a.Rank, b.Rank) })
	if len(byUser) != 2 || len(newRecs) != 5 || newRecs[0].Source != recommend.SourcePopular || len(byUser[known]) != 5 || byUser[known][0].Source != recommend.SourceModel {
		t.Fatalf("recommendations %+v: want new-user (popular) and %s (model), 5 each", got, known)
	}
	pop, shares := recommend.Popular(d0.Rows, 5)
	for j, id := range pop {
		if tok, _ := d0.ItemVocab().Token(id); newRecs[j].Item != tok || newRecs[j].Score != shares[j] {
			t.Fatalf("new user's items %+v, popular %v %v", newRecs, pop, shares)
		}
		if j > 0 && shares[j] > shares[j-1] {
			t.Fatalf("popular shares %v are not in descending order", shares)
		}
	}
	// The trainable encoder: a vector per n-gram bucket, saved and reloaded.
	tcfg := hllmConfig(data, items, t.TempDir(), 1)
	tcfg.ItemText = &models.ItemText{Items: items, Embeddings: filepath.Join(out, "item_text"), Dim: 32, Trainable: true, Buckets: 1000}
	tres, err := train.Run(ctx, tcfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm, tmc, tck, err := models.Load(ctx, tres.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if tmc.TextBuckets != 1000 || len(tmc.ItemBuckets) != d0.Items() || tck.Param("text_bag") == nil || tm.(*hllm.Model[float32]).Text != nil {
		t.Fatalf("trainable checkpoint: %d buckets, %d item lists, text_bag %v", tmc.TextBuckets, len(tmc.ItemBuckets), tck.Param("text_bag") != nil)
	}
	trep, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: tres.Checkpoint, Out: t.TempDir()}, runners.Options{})
	if err != nil || !trep.Near(tres.Test, 1e-9) {
		t.Errorf("trainable encoder reloaded: %v, %v; trained %v", trep, err, tres.Test)
	}
	notes.Reset()
	cfg.Epochs = 1
	cfg.ModelPath = t.TempDir()
	cfg.ItemText.Embeddings = filepath.Join(out, "item_text")
	if _, err := train.Run(ctx, cfg, nil, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes.String(), "(0 encoded, 90 reused)") {
		t.Errorf("second run's notes %q, want every text reused", notes.String())
	}
}

func TestHLLMConfigErrors(t *testing.T) {
	ctx := context.Background()
	data, items := hllmData(t, 80, 60)
	cfg := hllmConfig(data, "", t.TempDir(), 1)
	cfg.ItemText = nil
	if _, err := train.Run(ctx, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "item_text.items") {
		t.Errorf("no item_text: err = %v", err)
	}
	// Item texts of another catalogue: none of the keys match.
	other := filepath.Join(t.TempDir(), "movies.csv")
	os.WriteFile(other, []byte("movieId,title,genres\nx1,Other (1999),Drama\nx2,Another (2000),Comedy\n"), 0o644)
	cfg = hllmConfig(data, other, t.TempDir(), 1)
	if _, err := train.Run(ctx, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "is item_text.items the metadata of this data set?") {
		t.Errorf("foreign item texts: err = %v", err)
	}
	cfg = hllmConfig(data, items, t.TempDir(), 1)
	cfg.ItemSideFeatures = &models.SideFile{File: items}
	if _, err := train.Run(ctx, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), "takes no item_side_features") {
		t.Errorf("side features: err = %v", err)
	}
}

func TestHoldOutItems(t *testing.T) {
	rows := []transforms.SequenceRow{
		{User: 1, Split: transforms.SplitTrain, Items: []int64{1, 2}, Timestamps: []int64{10, 20}, Target: 3},
		{User: 1, Split: transforms.SplitValid, Items: []int64{1, 2, 3}, Timestamps: []int64{10, 20, 30}, Target: 4},
		{User: 1, Split: transforms.SplitTest, Items: []int64{1, 2, 3, 4}, Timestamps: []int64{10, 20, 30, 40}, Target: 5},
	}
	var got []transforms.SequenceRow
	var held []bool
	for seed := uint64(0); ; seed++ { // a seed that holds out item 2 or 3
		got, held = train.HoldOutItems(rows, 11, 0.2, seed)
		if held[2] != held[3] {
			break
		}
	}
	n := 0
	for _, h := range held {
		if h {
			n++
		}
	}
	if n != 2 || held[0] {
		t.Fatalf("held %v: want 2 of the 10 items, never padding", held)
	}
	for _, r := range got {
		for j, it := range r.Items {
			if held[it] {
				t.Errorf("%s row keeps held-out item %d", r.Split, it)
			}
			if r.Timestamps[j] != it*10 {
				t.Errorf("%s row: item %d has timestamp %d", r.Split, it, r.Timestamps[j])
			}
		}
		if held[r.Target] && r.Split != transforms.SplitTest {
			t.Errorf("%s row predicts held-out item %d", r.Split, r.Target)
		}
	}
	if last := got[len(got)-1]; last.Split != transforms.SplitTest || last.Target != 5 {
		t.Errorf("the test row was dropped or changed: %+v", last)
	}
}

// TestColdStart holds 10% of the items out of training: HLLM ranks those
// test targets well above a random ranking from their text (the category
// that drives the users' tastes), with frozen hashed vectors (over twice
// random) and with the trainable encoder (over 1.5 times: it learns its
// bucket vectors from the training items alone), and HSTU, with only
// untrained ID embeddings for them, below it.
func TestColdStart(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two models")
	}
	ctx := context.Background()
	data, items := hllmData(t, 500, 200)
	cfg := hllmConfig(data, items, "", 6)
	cfg.ItemText.Embeddings = t.TempDir()
	h, err := train.ColdStart(ctx, cfg, 0.1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tcfg := cfg
	tcfg.ItemText = &models.ItemText{Items: items, Embeddings: cfg.ItemText.Embeddings, Dim: 32, Trainable: true, Buckets: 4096}
	tr, err := train.ColdStart(ctx, tcfg, 0.1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name, cfg.Transformer = "hstu", hstu.TransformerParams{NumLayers: 1, NumHeads: 1, HiddenSize: 16}
	s, err := train.ColdStart(ctx, cfg, 0.1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc, sc := h.Cold.Map(), s.Cold.Map()
	t.Logf("%d items held out, %d cold test users; HR@50: HLLM %.4f, HSTU %.4f, random %.4f; AUC: HLLM %.3f, HSTU %.3f",
		h.Held, h.Cold.Users, hc["HR@50"], sc["HR@50"], h.RandomHR[50], h.Cold.AUC, s.Cold.AUC)
	if h.Held != 20 || h.Cold.Users < 20 {
		t.Fatalf("held %d items, %d cold test users", h.Held, h.Cold.Users)
	}
	if !(hc["HR@50"] > 2*h.RandomHR[50]) || !(h.Cold.AUC > 0.65) {
		t.Errorf("HLLM on held-out items: HR@50 %.4f (random %.4f), AUC %.3f; want over twice random and AUC > .65", hc["HR@50"], h.RandomHR[50], h.Cold.AUC)
	}
	if tc := tr.Cold.Map(); !(tc["HR@50"] > 1.5*tr.RandomHR[50]) || !(tr.Cold.AUC > 0.65) {
		t.Errorf("HLLM with the trainable encoder on held-out items: HR@50 %.4f (random %.4f), AUC %.3f", tc["HR@50"], tr.RandomHR[50], tr.Cold.AUC)
	} else {
		t.Logf("trainable encoder: HR@50 %.4f, AUC %.3f", tc["HR@50"], tr.Cold.AUC)
	}
	if !(s.Cold.AUC < 0.5) {
		t.Errorf("HSTU ranks held-out items at AUC %.3f, better than random: it has no way to", s.Cold.AUC)
	}
	if math.Abs(h.RandomHR[50]-50.0/float64(199)) > 0.1 {
		t.Errorf("random HR@50 %.4f is far from 50/199", h.RandomHR[50])
	}
}

// TestHLLMTextOnlyItems: items of the item-text file that no event
// mentions join the catalogue after the data's own, with no ID embedding;
// evaluate, recommend, the pipelines' catalogue check and export accept
// the checkpoint on the data, and a text-only item whose text is that of
// a popular item is recommended.
func TestHLLMTextOnlyItems(t *testing.T) {
	ctx := context.Background()
	data, items := hllmData(t, 200, 90)
	d0, err := transforms.LoadDataset(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	pop, _ := recommend.Popular(d0.Rows, 1)
	popKey, _ := d0.ItemVocab().Token(pop[0])
	var popLine string
	b, _ := os.ReadFile(items)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, popKey+",") {
			popLine = line
		}
	}
	twin := "new1" + strings.TrimPrefix(popLine, popKey) // the popular item's title and category
	f, _ := os.OpenFile(items, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(twin + "\nnew2,A film nobody has seen (category 1),c1\n")
	f.Close()
	out := t.TempDir()
	var notes bytes.Buffer
	cfg := hllmConfig(data, items, out, 3)
	cfg.Notes = &notes
	res, err := train.Run(ctx, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notes.String(), "2 items with a text but no interaction added") {
		t.Errorf("notes %q do not report the 2 text-only items", notes.String())
	}
	_, mc, ck, err := models.Load(ctx, res.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	n := d0.Items()
	if mc.Items != n+2 || len(mc.NoID) < 2 || mc.NoID[len(mc.NoID)-1] != int32(n+1) {
		t.Fatalf("catalogue %d (data %d), no_id %v: want the 2 text-only items after the data's", mc.Items, n, mc.NoID)
	}
	v, err := models.CheckpointCatalogue(ck, res.Checkpoint, d0.ItemVocab(), data)
	if err != nil || v.Len() != n+1 || v.Tokens[n-1] != "new1" || v.Tokens[n] != "new2" {
		t.Fatalf("CheckpointCatalogue: %v, %v", v, err)
	}
	if items, _, err := models.CheckData(ctx, data, res.Checkpoint); err != nil || items != n+2 {
		t.Fatalf("CheckCatalogue = %d, %v", items, err)
	}
	rep, err := evaluate.Run(ctx, evaluate.Config{Data: data, Checkpoint: res.Checkpoint, Out: t.TempDir()}, runners.Options{})
	if err != nil || !rep.Near(res.Test, 1e-9) {
		t.Fatalf("Evaluate: %v, %v; train reported %v", rep, err, res.Test)
	}
	recs := filepath.Join(t.TempDir(), "recs")
	rr, err := recommend.Run(ctx, recommend.Config{Data: data, Checkpoint: res.Checkpoint, K: 20, Out: recs}, runners.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := transforms.LoadTable[recommend.Recommendation](ctx, recs)
	if err != nil {
		t.Fatal(err)
	}
	users := 0
	for _, r := range got {
		if r.Item == "new1" {
			users++
		}
	}
	t.Logf("new1 (text of popular item %s) is in the top 20 of %d of %d users", popKey, users, rr.Users)
	if users == 0 {
		t.Error("the text-only twin of the most popular item is in nobody's top 20")
	}
	if _, err := train.Export(ctx, train.ExportConfig{Checkpoint: res.Checkpoint, Out: filepath.Join(t.TempDir(), "m.onnx")}); err != nil {
		t.Fatal(err)
	}
	// Another data set of the same size is still refused.
	other, _ := hllmData(t, 120, 90)
	if _, err := evaluate.Run(ctx, evaluate.Config{Data: other, Checkpoint: res.Checkpoint, Out: t.TempDir()}, runners.Options{}); err == nil || !strings.Contains(err.Error(), "use it on the data it was trained on") {
		t.Errorf("checkpoint on other data: err = %v", err)
	}
}
