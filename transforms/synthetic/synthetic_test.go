package synthetic_test

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/genrec/genrec/transforms"
	"github.com/genrec/genrec/transforms/synthetic"
)

// sequences generates cfg and returns each user's item sequence and events.
func sequences(t *testing.T, cfg synthetic.Config) ([][]string, []transforms.Event) {
	t.Helper()
	var seqs [][]string
	var events []transforms.Event
	last := ""
	err := synthetic.Generate(cfg, func(e transforms.Event) error {
		if e.User != last {
			seqs = append(seqs, nil)
			last = e.User
		}
		seqs[len(seqs)-1] = append(seqs[len(seqs)-1], e.Item)
		events = append(events, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return seqs, events
}

func csvOf(t *testing.T, cfg synthetic.Config) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := synthetic.WriteInteractionsCSV(&b, cfg); err != nil {
		t.Fatalf("WriteInteractionsCSV: %v", err)
	}
	return b.Bytes()
}

func TestDeterminism(t *testing.T) {
	cfg := synthetic.DefaultConfig()
	a, b := csvOf(t, cfg), csvOf(t, cfg)
	if !bytes.Equal(a, b) {
		t.Errorf("two runs with the same Config differ")
	}
	cfg2 := cfg
	cfg2.Seed++
	if c := csvOf(t, cfg2); bytes.Equal(a, c) {
		t.Errorf("Seed %d and %d give identical output", cfg.Seed, cfg2.Seed)
	}
	var i1, i2 bytes.Buffer
	if err := synthetic.WriteItemsCSV(&i1, cfg); err != nil {
		t.Fatal(err)
	}
	if err := synthetic.WriteItemsCSV(&i2, cfg2); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(i1.Bytes(), i2.Bytes()) {
		t.Errorf("items of Seed %d and %d are identical", cfg.Seed, cfg2.Seed)
	}
}

// TestUsersIndependent checks that a user's events do not depend on how
// many users are generated.
func TestUsersIndependent(t *testing.T) {
	small := synthetic.DefaultConfig()
	small.Users = 10
	big := small
	big.Users = 50
	a, b := csvOf(t, small), csvOf(t, big)
	if !bytes.HasPrefix(b, a) {
		t.Errorf("the first %d users differ between Users=%d and Users=%d", small.Users, small.Users, big.Users)
	}
}

func TestSizes(t *testing.T) {
	cfg := synthetic.DefaultConfig()
	seqs, events := sequences(t, cfg)
	if got, want := len(seqs), cfg.Users; got != want {
		t.Errorf("users: got %d, want %d", got, want)
	}
	want := float64(cfg.Users) * cfg.MeanLength
	if got := float64(len(events)); math.Abs(got-want) > 0.1*want {
		t.Errorf("events: got %v, want %v ± 10%%", got, want)
	}
	items := map[string]bool{}
	cats := map[string]bool{}
	for _, it := range synthetic.Items(cfg) {
		items[it.Item] = true
		cats[it.Genres[0]] = true
	}
	if got, want := len(items), cfg.Items; got != want {
		t.Errorf("items: got %d, want %d", got, want)
	}
	if got, want := len(cats), cfg.Categories; got != want {
		t.Errorf("categories: got %d, want %d", got, want)
	}
	for i, s := range seqs {
		if len(s) < cfg.MinLength || len(s) > cfg.MaxLength {
			t.Errorf("user %d: got %d events, want [%d, %d]", i+1, len(s), cfg.MinLength, cfg.MaxLength)
		}
	}
	ties := 0
	lo, hi := cfg.Start.Unix(), cfg.Start.Add(cfg.Span).Unix()
	for i, e := range events {
		if !items[e.Item] {
			t.Fatalf("event %d: unknown item %q", i, e.Item)
		}
		if !e.HasRating || e.Rating < 1 || e.Rating > 5 || e.Rating != math.Trunc(e.Rating) || e.Label != -1 {
			t.Fatalf("event %d: got rating %v (HasRating %v), label %d; want integer 1..5, true, -1", i, e.Rating, e.HasRating, e.Label)
		}
		if got, want := e.Line, int64(i+2); got != want {
			t.Fatalf("event %d: got Line %d, want %d", i, got, want)
		}
		if i == 0 || events[i-1].User != e.User {
			if e.Timestamp < lo || e.Timestamp >= hi {
				t.Errorf("user %s: first timestamp %d outside [%d, %d)", e.User, e.Timestamp, lo, hi)
			}
			continue
		}
		p := events[i-1]
		if e.Timestamp < p.Timestamp {
			t.Fatalf("user %s: timestamp %d after %d", e.User, e.Timestamp, p.Timestamp)
		}
		if e.Timestamp == p.Timestamp {
			ties++
		}
		if e.Item == p.Item {
			t.Errorf("user %s: item %s repeated immediately", e.User, e.Item)
		}
	}
	// Expected ties: TieProb per consecutive pair, 2% of ~48k here.
	pairs := len(events) - len(seqs)
	if got, want := float64(ties)/float64(pairs), cfg.TieProb; math.Abs(got-want) > 0.01 {
		t.Errorf("tie fraction: got %.4f, want %.4f ± 0.01", got, want)
	}
}

func TestWriteInteractionsCSV(t *testing.T) {
	cfg := synthetic.DefaultConfig()
	cfg.Users = 100
	_, events := sequences(t, cfg)
	var b bytes.Buffer
	n, err := synthetic.WriteInteractionsCSV(&b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := n, int64(len(events)); got != want {
		t.Errorf("n: got %d, want %d", got, want)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if got, want := lines[0], "user,item,timestamp,rating"; got != want {
		t.Errorf("header: got %q, want %q", got, want)
	}
	if got, want := len(lines), len(events)+1; got != want {
		t.Fatalf("lines: got %d, want %d", got, want)
	}
	for _, e := range events {
		if got, want := lines[e.Line-1], strings.Join([]string{e.User, e.Item, itoa(e.Timestamp), itoa(int64(e.Rating))}, ","); got != want {
			t.Fatalf("line %d: got %q, want %q", e.Line, got, want)
		}
	}
}

func itoa(x int64) string { return strconv.FormatInt(x, 10) }

func TestWriteItemsCSV(t *testing.T) {
	cfg := synthetic.DefaultConfig()
	var b bytes.Buffer
	if err := synthetic.WriteItemsCSV(&b, cfg); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if got, want := lines[0], "item,title,category"; got != want {
		t.Errorf("header: got %q, want %q", got, want)
	}
	items := synthetic.Items(cfg)
	if got, want := len(lines), len(items)+1; got != want {
		t.Fatalf("lines: got %d, want %d", got, want)
	}
	for i, it := range items {
		cat := strings.TrimPrefix(it.Genres[0], "c")
		want := "i" + itoa(int64(i+1)) + ",Item " + itoa(int64(i+1)) + " (category " + cat + ")," + it.Genres[0]
		if got := lines[i+1]; got != want {
			t.Fatalf("line %d: got %q, want %q", i+2, got, want)
		}
	}
}

func TestSuccessor(t *testing.T) {
	cfg := synthetic.DefaultConfig()
	cat := map[string]string{}
	for _, it := range synthetic.Items(cfg) {
		cat[it.Item] = it.Genres[0]
	}
	seen := map[string]bool{}
	for item := range cat {
		s := synthetic.Successor(cfg, item)
		if s == item || cat[s] != cat[item] {
			t.Errorf("Successor(%s) = %q: want another item of category %s", item, s, cat[item])
		}
		if seen[s] {
			t.Errorf("Successor: %s is the successor of two items", s)
		}
		seen[s] = true
	}
	for _, bad := range []string{"", "i0", "i01", "i+1", "x1", "i1001", "u1"} {
		if got := synthetic.Successor(cfg, bad); got != "" {
			t.Errorf("Successor(%q): got %q, want \"\"", bad, got)
		}
	}
}

// TestPatternStrength checks that the fraction of consecutive pairs
// (a, b) with b = Successor(a) is PatternStrength: the non-pattern draw
// excludes the successor, so the expectation is exact and the tolerance
// 0.05 covers sampling noise (σ ≈ 0.003 at 48k pairs) many times over.
func TestPatternStrength(t *testing.T) {
	for _, p := range []float64{0, 0.3, 0.5, 0.9} {
		cfg := synthetic.DefaultConfig()
		cfg.PatternStrength = p
		seqs, _ := sequences(t, cfg)
		succ := successors(cfg)
		hits, pairs := 0, 0
		for _, s := range seqs {
			for k := 1; k < len(s); k++ {
				pairs++
				if s[k] == succ[s[k-1]] {
					hits++
				}
			}
		}
		if got := float64(hits) / float64(pairs); math.Abs(got-p) > 0.05 {
			t.Errorf("PatternStrength %v: got pattern fraction %.4f, want %.4f ± 0.05", p, got, p)
		}
	}
}

func successors(cfg synthetic.Config) map[string]string {
	m := map[string]string{}
	for _, it := range synthetic.Items(cfg) {
		m[it.Item] = synthetic.Successor(cfg, it.Item)
	}
	return m
}

// TestMarkovBeatsPopularity is the "a model can learn something" check:
// a first-order Markov predictor (transition counts) fitted on the first
// half of every user's sequence predicts the next item of the second half
// with HR@10 more than 3× that of the most-popular-10 list fitted on the
// same half.
func TestMarkovBeatsPopularity(t *testing.T) {
	cfg := synthetic.DefaultConfig()
	seqs, _ := sequences(t, cfg)
	pop := map[string]int{}
	trans := map[string]map[string]int{}
	for _, s := range seqs {
		h := len(s) / 2
		for k := range h {
			pop[s[k]]++
			if k > 0 {
				if trans[s[k-1]] == nil {
					trans[s[k-1]] = map[string]int{}
				}
				trans[s[k-1]][s[k]]++
			}
		}
	}
	popTop := top(pop, 10, nil)
	var markovHits, popHits, n int
	for _, s := range seqs {
		for k := max(len(s)/2, 1); k < len(s); k++ {
			n++
			if slices.Contains(popTop, s[k]) {
				popHits++
			}
			if slices.Contains(top(trans[s[k-1]], 10, popTop), s[k]) {
				markovHits++
			}
		}
	}
	markov, popular := float64(markovHits)/float64(n), float64(popHits)/float64(n)
	t.Logf("HR@10 over %d targets: Markov %.4f, popularity %.4f", n, markov, popular)
	if markov <= 3*popular {
		t.Errorf("HR@10: got Markov %.4f, popularity %.4f; want Markov > 3× popularity", markov, popular)
	}
}

// top returns the k keys of counts with the largest counts (ties by id),
// padded from fill.
func top(counts map[string]int, k int, fill []string) []string {
	keys := make([]string, 0, len(counts))
	for key := range counts {
		keys = append(keys, key)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b))
	})
	keys = keys[:min(k, len(keys))]
	for _, f := range fill {
		if len(keys) == k {
			break
		}
		if !slices.Contains(keys, f) {
			keys = append(keys, f)
		}
	}
	return keys
}

func TestValidate(t *testing.T) {
	ok := synthetic.DefaultConfig()
	if err := ok.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate(): got %v, want nil", err)
	}
	for _, tc := range []struct {
		field  string
		mutate func(*synthetic.Config)
	}{
		{"Users", func(c *synthetic.Config) { c.Users = 0 }},
		{"Items", func(c *synthetic.Config) { c.Items = -1 }},
		{"Categories", func(c *synthetic.Config) { c.Categories = 0 }},
		{"Items", func(c *synthetic.Config) { c.Items = 59 }}, // < 3·20
		{"MinLength", func(c *synthetic.Config) { c.MinLength = 0 }},
		{"MaxLength", func(c *synthetic.Config) { c.MaxLength = 2 }},
		{"MeanLength", func(c *synthetic.Config) { c.MeanLength = 0 }},
		{"MeanLength", func(c *synthetic.Config) { c.MeanLength = math.NaN() }},
		{"MeanLength", func(c *synthetic.Config) { c.MeanLength = 2 }},
		{"MeanLength", func(c *synthetic.Config) { c.MeanLength = 201 }},
		{"PatternStrength", func(c *synthetic.Config) { c.PatternStrength = 1.5 }},
		{"Exploration", func(c *synthetic.Config) { c.Exploration = -0.1 }},
		{"TieProb", func(c *synthetic.Config) { c.TieProb = 1 }},
		{"Start", func(c *synthetic.Config) { c.Start = time.Time{} }},
		{"Span", func(c *synthetic.Config) { c.Span = 0 }},
		{"MeanGap", func(c *synthetic.Config) { c.MeanGap = time.Millisecond }},
	} {
		cfg := ok
		tc.mutate(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("%s: got %v, want an error naming Config.%s", tc.field, err, tc.field)
		}
		if gerr := synthetic.Generate(cfg, func(transforms.Event) error { return nil }); gerr == nil {
			t.Errorf("%s: Generate got nil error, want one", tc.field)
		}
		if _, werr := synthetic.WriteInteractionsCSV(&bytes.Buffer{}, cfg); werr == nil {
			t.Errorf("%s: WriteInteractionsCSV got nil error, want one", tc.field)
		}
	}
	var zero synthetic.Config
	err := zero.Validate()
	for _, f := range []string{"Users", "Items", "Categories", "MinLength", "MaxLength", "MeanLength", "Start", "Span", "MeanGap"} {
		if err == nil || !strings.Contains(err.Error(), "Config."+f) {
			t.Errorf("zero Config: got %v, want an error naming Config.%s", err, f)
		}
	}
}

func TestInvalidConfigPanics(t *testing.T) {
	var zero synthetic.Config
	for name, f := range map[string]func(){
		"Items":     func() { synthetic.Items(zero) },
		"Successor": func() { synthetic.Successor(zero, "i1") },
	} {
		func() {
			defer func() {
				r := recover()
				if err, ok := r.(error); !ok || !strings.HasPrefix(err.Error(), "synthetic:") {
					t.Errorf("%s(zero Config): got panic %v, want an error prefixed \"synthetic:\"", name, r)
				}
			}()
			f()
		}()
	}
}

func TestEmitError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := synthetic.Generate(synthetic.DefaultConfig(), func(transforms.Event) error {
		calls++
		if calls == 5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 5 {
		t.Errorf("got err %v after %d calls, want %v after 5", err, calls, stop)
	}
}
