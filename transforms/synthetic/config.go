package synthetic

import (
	"errors"
	"fmt"
	"time"
)

// Config sizes and shapes a synthetic data set. Build it with
// DefaultConfig and change fields; the zero Config is invalid.
type Config struct {
	Users      int // number of users, ids "u1".."uUsers"
	Items      int // number of items, ids "i1".."iItems"
	Categories int // number of categories, ids "c1".."cCategories"; Items ≥ 3·Categories

	// MeanLength is the mean number of events per user before the cap:
	// lengths are MinLength plus a geometric variable, capped at
	// MaxLength, so the realised mean is slightly below MeanLength when
	// MaxLength is close to it.
	MeanLength float64
	MinLength  int // at least 1; leave-one-out evaluation needs 3
	MaxLength  int

	Seed uint64

	// PatternStrength is the probability that a user's next item is the
	// planted successor of the previous one, in [0, 1].
	PatternStrength float64
	// Exploration is the probability that a non-pattern item comes from a
	// uniformly chosen category rather than the user's favourites, in [0, 1].
	Exploration float64
	// TieProb is the probability that an event shares the previous
	// event's timestamp, in [0, 1).
	TieProb float64

	Start   time.Time     // earliest first event
	Span    time.Duration // first events are spread over [Start, Start+Span)
	MeanGap time.Duration // mean gap between a user's consecutive non-tied events, ≥ 1s
}

// DefaultConfig returns the demo data set:
//
//	Users 2000, Items 1000, Categories 20,
//	MeanLength 25, MinLength 3, MaxLength 200   (≈ 50,000 events),
//	Seed 1, PatternStrength 0.5, Exploration 0.1, TieProb 0.02,
//	Start 2020-01-01T00:00:00Z, Span 365 days, MeanGap 6h.
func DefaultConfig() Config {
	return Config{
		Users:           2000,
		Items:           1000,
		Categories:      20,
		MeanLength:      25,
		MinLength:       3,
		MaxLength:       200,
		Seed:            1,
		PatternStrength: 0.5,
		Exploration:     0.1,
		TieProb:         0.02,
		Start:           time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		Span:            365 * 24 * time.Hour,
		MeanGap:         6 * time.Hour,
	}
}

// Validate reports every invalid field of c, each error naming its field.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("synthetic: Config."+format, args...))
	}
	if c.Users <= 0 {
		bad("Users = %d, must be positive", c.Users)
	}
	if c.Items <= 0 {
		bad("Items = %d, must be positive", c.Items)
	}
	if c.Categories <= 0 {
		bad("Categories = %d, must be positive", c.Categories)
	}
	if c.Items > 0 && c.Categories > 0 && c.Items < 3*c.Categories {
		bad("Items = %d, must be at least 3·Categories = %d", c.Items, 3*c.Categories)
	}
	if c.MinLength <= 0 {
		bad("MinLength = %d, must be positive", c.MinLength)
	}
	if c.MaxLength < c.MinLength || c.MaxLength <= 0 {
		bad("MaxLength = %d, must be positive and ≥ MinLength = %d", c.MaxLength, c.MinLength)
	}
	if !(c.MeanLength > 0) {
		bad("MeanLength = %v, must be positive", c.MeanLength)
	} else if !(c.MeanLength >= float64(c.MinLength) && c.MeanLength <= float64(c.MaxLength)) {
		bad("MeanLength = %v, must be in [MinLength, MaxLength] = [%d, %d]", c.MeanLength, c.MinLength, c.MaxLength)
	}
	if !(c.PatternStrength >= 0 && c.PatternStrength <= 1) {
		bad("PatternStrength = %v, must be in [0, 1]", c.PatternStrength)
	}
	if !(c.Exploration >= 0 && c.Exploration <= 1) {
		bad("Exploration = %v, must be in [0, 1]", c.Exploration)
	}
	if !(c.TieProb >= 0 && c.TieProb < 1) {
		bad("TieProb = %v, must be in [0, 1)", c.TieProb)
	}
	if c.Start.IsZero() {
		bad("Start is the zero time")
	}
	if c.Span < time.Second {
		bad("Span = %v, must be at least 1s", c.Span)
	}
	if c.MeanGap < time.Second {
		bad("MeanGap = %v, must be at least 1s", c.MeanGap)
	}
	return errors.Join(errs...)
}
