package transforms

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Format names the layout of an interaction file read by ParseEvents.
type Format string

// The interaction formats ParseEvents reads.
const (
	// FormatML1M is MovieLens 1M ratings.dat: UserID::MovieID::Rating::Timestamp.
	FormatML1M Format = "ml-1m"
	// FormatML100K is MovieLens 100K u.data: user \t item \t rating \t timestamp.
	FormatML100K Format = "ml-100k"
	// FormatMLCSV is MovieLens latest ratings.csv with the header
	// userId,movieId,rating,timestamp.
	FormatMLCSV Format = "ml-csv"
	// FormatSeqLines is the S3-Rec layout (Beauty.txt): "user item item ...",
	// one user per line, items in chronological order, no time. The event's
	// Timestamp is the item's 1-based position on the line, Pos the 0-based one.
	FormatSeqLines Format = "seq-lines"
	// FormatTable is a generic table with a header: CSV, or Parquet when the
	// file name ends in ".parquet". Column names come from ParseOptions.
	FormatTable Format = "table"
)

var formats = []Format{FormatML1M, FormatML100K, FormatMLCSV, FormatSeqLines, FormatTable}

// Formats lists the interaction formats ParseEvents reads.
func Formats() []Format { return slices.Clone(formats) }

// ParseFormat returns the Format named s, or an error listing the
// supported ones.
func ParseFormat(s string) (Format, error) {
	return lookupName(s, "format", formats)
}

// lookupName returns the member of all spelled s.
func lookupName[T ~string](s, kind string, all []T) (T, error) {
	for _, f := range all {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown %s %q (supported: %s)", kind, s, joinNames(all))
}

// DetectFormat guesses the Format of an interaction file from its name:
//
//	ratings.dat                      ml-1m
//	u.data, u1.base, ua.test, ...    ml-100k
//	ratings.csv                      ml-csv
//	*.txt                            seq-lines
//	*.csv, *.parquet                 table
//
// Any other name is an error asking for an explicit --format.
func DetectFormat(path string) (Format, error) {
	base := strings.ToLower(filepath.Base(path))
	ext := filepath.Ext(base)
	switch {
	case base == "ratings.dat":
		return FormatML1M, nil
	case base == "u.data" || isML100KSplit(base):
		return FormatML100K, nil
	case base == "ratings.csv":
		return FormatMLCSV, nil
	case ext == ".txt":
		return FormatSeqLines, nil
	case ext == ".csv" || ext == ".parquet":
		return FormatTable, nil
	}
	return "", fmt.Errorf("cannot tell the format of %s from its name; pass --format (one of %s)", path, joinNames(formats))
}

// isML100KSplit reports whether base names one of the ML-100K train/test
// splits (u1.base ... u5.test, ua.base, ub.test).
func isML100KSplit(base string) bool {
	if len(base) != len("u1.base") || base[0] != 'u' {
		return false
	}
	if !strings.HasSuffix(base, ".base") && !strings.HasSuffix(base, ".test") {
		return false
	}
	c := base[1]
	return c >= '1' && c <= '5' || c == 'a' || c == 'b'
}

// ParseOptions configures ParseEvents. The zero value is ready to use.
type ParseOptions struct {
	// Column names of a FormatTable source. Defaults: "user", "item",
	// "timestamp", "rating", "label". User, item and time columns are
	// required; rating and label are used when present.
	UserCol, ItemCol, TimeCol, RatingCol, LabelCol string
	// TimeFormat is how a FormatTable's time column is written: one of
	// TimeFormats (unix seconds, unix milliseconds, RFC 3339, a date);
	// "" or TimeAuto reads each value as whichever it is. Times become
	// unix seconds.
	TimeFormat string
	// Delimiter separates the fields of a FormatTable CSV. Default ','.
	Delimiter rune
	// MinRating keeps only events whose rating is >= MinRating. Events
	// without a rating are always kept. 0 keeps all.
	MinRating float64
}

func (o ParseOptions) withDefaults() ParseOptions {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&o.UserCol, "user")
	def(&o.ItemCol, "item")
	def(&o.TimeCol, "timestamp")
	def(&o.RatingCol, "rating")
	def(&o.LabelCol, "label")
	if o.Delimiter == 0 {
		o.Delimiter = ','
	}
	return o
}

// keep reports whether an event passes the MinRating filter.
func (o ParseOptions) keep(e Event) bool {
	return !e.HasRating || o.MinRating == 0 || e.Rating >= o.MinRating
}

// ParseEvents reads the interaction file r in format f and calls emit for
// every good event and bad for every malformed line (or Parquet row).
// name is the file name used in BadLine and in errors. Blank lines are
// skipped. Events dropped by opt.MinRating go to neither callback.
//
// It returns the number of lines read (Parquet: rows; header and blank
// lines included). The error is non-nil only for I/O failures, for a
// table whose header or schema lacks a required column, or when emit or
// bad return an error, which is returned unchanged: returning an error
// from bad is how a caller fails fast. A nil bad fails fast on the first
// malformed line with an error describing it.
//
// emit may keep the Event; its strings are not reused.
func ParseEvents(r io.Reader, name string, f Format, opt ParseOptions, emit func(Event) error, bad func(BadLine) error) (lines int64, err error) {
	if emit == nil {
		panic("transforms: ParseEvents with nil emit")
	}
	lr := lineReader{name: name, bad: bad}
	opt = opt.withDefaults()
	switch f {
	case FormatML1M:
		return lr.each(r, ratingLineFn(opt, emit, "::", false))
	case FormatML100K:
		return lr.each(r, ratingLineFn(opt, emit, "\t", false))
	case FormatMLCSV:
		return lr.each(r, ratingLineFn(opt, emit, ",", true))
	case FormatSeqLines:
		return lr.each(r, seqLineFn(emit))
	case FormatTable:
		if strings.EqualFold(filepath.Ext(name), ".parquet") {
			return lr.parquetTable(r, opt, emit)
		}
		return lr.csvTable(r, opt, emit)
	}
	return 0, fmt.Errorf("%s: unknown format %q (supported: %s)", name, f, joinNames(formats))
}

// maxLine bounds one line; a longer one stops the parse with an error.
const maxLine = 64 << 20

var utf8BOM = []byte("\ufeff")

// maxBadText is how much of a malformed line BadLine keeps.
const maxBadText = 200

// lineReader is the loop shared by the line-oriented parsers: it scans
// lines, counts them, strips a trailing '\r', skips blank lines (unless
// keepBlank) and reports the reasons the per-format function returns.
type lineReader struct {
	name      string
	bad       func(BadLine) error
	keepBlank bool
}

// lineFn handles line n (1-based, without its line end). A non-empty
// reason marks the line as malformed; err stops the loop.
type lineFn func(n int64, line string) (reason string, err error)

func (lr lineReader) each(r io.Reader, fn lineFn) (int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var n int64
	for sc.Scan() {
		n++
		line := sc.Bytes()
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		if n == 1 {
			line = bytes.TrimPrefix(line, utf8BOM)
		}
		s := string(line)
		if !lr.keepBlank && blank(s) {
			continue
		}
		reason, err := fn(n, s)
		if err != nil {
			return n, err
		}
		if reason != "" {
			if err := lr.report(n, reason, s); err != nil {
				return n, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return n, fmt.Errorf("%s:%d: line longer than %d bytes", lr.name, n+1, maxLine)
		}
		return n, fmt.Errorf("%s:%d: %w", lr.name, n+1, err)
	}
	return n, nil
}

// report hands a malformed line to bad, or turns it into an error when
// bad is nil.
func (lr lineReader) report(n int64, reason, text string) error {
	b := BadLine{File: lr.name, Line: n, Reason: reason, Text: cut(text, maxBadText)}
	if lr.bad == nil {
		return errors.New(b.String())
	}
	return lr.bad(b)
}

// cut shortens s to at most max bytes without splitting a UTF-8 sequence.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\r' {
			return false
		}
	}
	return true
}

// splitInto splits s around sep into dst and returns how many fields s
// has; fields past len(dst) are counted but not stored. Each stored field
// is trimmed of spaces.
func splitInto(s, sep string, dst []string) int {
	n := 0
	for {
		i := strings.Index(s, sep)
		f := s
		if i >= 0 {
			f = s[:i]
		}
		if n < len(dst) {
			dst[n] = strings.TrimSpace(f)
		}
		n++
		if i < 0 {
			return n
		}
		s = s[i+len(sep):]
	}
}

func joinNames[T ~string](names []T) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = string(n)
	}
	return strings.Join(s, ", ")
}
