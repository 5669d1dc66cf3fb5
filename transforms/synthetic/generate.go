package synthetic

import (
	"strconv"
	"time"

	"github.com/genrec/genrec/transforms"
)

// maxFavourites bounds the favourite categories of a user (2 or 3).
const maxFavourites = 3

// Generate emits the events of cfg's data set to emit: users in order
// "u1", "u2", ..., each user's events in chronological order (ties keep
// generation order). Every event has HasRating true, a rating in 1..5 and
// Label -1; Line is the line the event has in WriteInteractionsCSV's
// output (the header is line 1, so the first event is line 2) and Pos 0.
//
// Generate returns cfg.Validate's error before emitting anything, and
// stops at the first error emit returns, returning it. Memory is O(Items).
func Generate(cfg Config, emit func(transforms.Event) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	g := newGenerator(cfg)
	line := int64(2)
	for u := range cfg.Users {
		if err := g.user(u, &line, emit); err != nil {
			return err
		}
	}
	return nil
}

// generator holds what every user's draw needs, computed once.
type generator struct {
	cat                     *catalogue
	seed                    uint64
	minLen, maxLen          int
	continueThr, patternThr uint64
	exploreThr, tieThr      uint64
	categories              uint64
	start, span, meanGap    int64 // seconds
}

func newGenerator(cfg Config) *generator {
	// Geometric excess with mean m = MeanLength−MinLength: continue with
	// probability q = m/(m+1), so E[excess] = q/(1−q) = m.
	m := cfg.MeanLength - float64(cfg.MinLength)
	return &generator{
		cat:         catalogueFor(cfg),
		seed:        cfg.Seed,
		minLen:      cfg.MinLength,
		maxLen:      cfg.MaxLength,
		continueThr: threshold(m / (m + 1)),
		patternThr:  threshold(cfg.PatternStrength),
		exploreThr:  threshold(cfg.Exploration),
		tieThr:      threshold(cfg.TieProb),
		categories:  uint64(cfg.Categories),
		start:       cfg.Start.Unix(),
		span:        int64(cfg.Span / time.Second),
		meanGap:     int64(cfg.MeanGap / time.Second),
	}
}

// taste is one user's latent preference: favourite categories and the
// cumulative weights θ over them.
type taste struct {
	favs []int32
	cum  []uint64
}

func (t *taste) has(cat int32) bool {
	for _, f := range t.favs {
		if f == cat {
			return true
		}
	}
	return false
}

// newTaste draws 2 or 3 distinct favourite categories by category
// popularity, with weights Uniform{1..8}.
func (g *generator) newTaste(src *source, t *taste) {
	n := min(2+int(src.uint64n(maxFavourites-1)), int(g.categories))
	t.favs, t.cum = t.favs[:0], t.cum[:0]
	var total uint64
	for len(t.favs) < n {
		c := int32(pick(src, g.cat.catCum))
		if t.has(c) {
			continue
		}
		total += 1 + src.uint64n(8)
		t.favs = append(t.favs, c)
		t.cum = append(t.cum, total)
	}
}

// draw returns an item from the user's taste: a category (uniform with
// probability Exploration, else by θ), then an item by popularity in it.
func (g *generator) draw(src *source, t *taste) int32 {
	var c int32
	if src.bernoulli(g.exploreThr) {
		c = int32(src.uint64n(g.categories))
	} else {
		c = t.favs[pick(src, t.cum)]
	}
	return g.cat.members[c][pick(src, g.cat.cum[c])]
}

// user draws and emits the events of user u (0-based), numbering their
// lines from *line on.
func (g *generator) user(u int, line *int64, emit func(transforms.Event) error) error {
	src := newSource(g.seed, streamUser, uint64(u))
	var favs [maxFavourites]int32
	var cum [maxFavourites]uint64
	t := taste{favs: favs[:0], cum: cum[:0]}
	g.newTaste(src, &t)

	n := g.minLen
	for n < g.maxLen && src.bernoulli(g.continueThr) {
		n++
	}
	ev := transforms.Event{
		User:      "u" + strconv.Itoa(u+1),
		HasRating: true,
		Label:     -1,
		Timestamp: g.start + int64(src.uint64n(uint64(g.span))),
	}
	prev := int32(-1)
	for k := range n {
		var it int32
		switch {
		case k == 0:
			it = g.draw(src, &t)
		case src.bernoulli(g.patternThr):
			it = g.cat.succ[prev]
		default:
			next := g.cat.succ[prev]
			for it = g.draw(src, &t); it == prev || it == next; it = g.draw(src, &t) {
			}
		}
		if k > 0 && !src.bernoulli(g.tieThr) {
			ev.Timestamp += 1 + int64(src.uint64n(uint64(2*g.meanGap-1)))
		}
		rating := 1 + src.uint64n(4)
		if t.has(g.cat.category[it]) {
			rating++
		}
		ev.Item = g.cat.ids[it]
		ev.Rating = float64(rating)
		ev.Line = *line
		*line++
		if err := emit(ev); err != nil {
			return err
		}
		prev = it
	}
	return nil
}
