package transforms

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// ItemFormat names the layout of an item metadata file read by ParseItems.
type ItemFormat string

// The item metadata formats ParseItems reads.
const (
	// ItemsML1M is MovieLens 1M movies.dat: MovieID::Title::Genres, genres
	// '|'-separated, ISO-8859-1 text.
	ItemsML1M ItemFormat = "ml-1m-movies"
	// ItemsML100K is MovieLens 100K u.item: id|title|release date|video
	// release date|IMDb URL|19 genre flags, ISO-8859-1 text.
	ItemsML100K ItemFormat = "ml-100k-items"
	// ItemsMLCSV is MovieLens latest movies.csv: header movieId,title,genres,
	// quoted CSV, UTF-8; "(no genres listed)" means none. The demo's
	// items.csv (header item,title,category) has the same layout.
	ItemsMLCSV ItemFormat = "ml-csv-movies"
	// ItemsS3RecAttrs is S3-Rec's *_item2attributes.json, one JSON object
	// {"item": [attribute ids]}; the ids become ItemMeta.Genres.
	ItemsS3RecAttrs ItemFormat = "s3rec-attributes"
)

var itemFormats = []ItemFormat{ItemsML1M, ItemsML100K, ItemsMLCSV, ItemsS3RecAttrs}

// ML100KGenres are the genres of u.item's 19 flag columns, in order.
var ML100KGenres = [19]string{
	"unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
	"Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
	"Romance", "Sci-Fi", "Thriller", "War", "Western",
}

// ParseItemFormat returns the ItemFormat named s, or an error listing the
// supported ones.
func ParseItemFormat(s string) (ItemFormat, error) {
	return lookupName(s, "item format", itemFormats)
}

// DetectItemFormat guesses the ItemFormat from a file name: movies.dat,
// u.item, movies.csv (or the demo's items.csv) or *item2attributes.json.
func DetectItemFormat(path string) (ItemFormat, error) {
	switch base := strings.ToLower(filepath.Base(path)); {
	case base == "movies.dat":
		return ItemsML1M, nil
	case base == "u.item":
		return ItemsML100K, nil
	case base == "movies.csv", base == "items.csv":
		return ItemsMLCSV, nil
	case strings.HasSuffix(base, "item2attributes.json"):
		return ItemsS3RecAttrs, nil
	}
	return "", fmt.Errorf("cannot tell the item format of %s from its name; pass --format (one of %s)", path, joinNames(itemFormats))
}

// ParseItems reads the item metadata file r in format f and calls emit for
// every item and bad for every malformed line, as ParseEvents does (same
// return values, error and fail-fast rules). Titles are decoded to UTF-8
// and keep their year; Year is parsed from a trailing "(1995)".
//
// For ItemsS3RecAttrs, lines counts the JSON entries and BadLine.Line is
// the 1-based entry; malformed JSON is reported as a bad entry and ends
// the parse.
func ParseItems(r io.Reader, name string, f ItemFormat, emit func(ItemMeta) error, bad func(BadLine) error) (lines int64, err error) {
	if emit == nil {
		panic("transforms: ParseItems with nil emit")
	}
	lr := lineReader{name: name, bad: bad}
	switch f {
	case ItemsML1M:
		return lr.each(r, moviesDatFn(emit))
	case ItemsML100K:
		return lr.each(r, uItemFn(emit))
	case ItemsMLCSV:
		return lr.eachCSV(r, ',', moviesCSVFn(emit))
	case ItemsS3RecAttrs:
		return lr.itemAttributes(r, emit)
	}
	return 0, fmt.Errorf("%s: unknown item format %q (supported: %s)", name, f, joinNames(itemFormats))
}

// moviesDatFn parses MovieID::Title::Genres. The title is what lies
// between the first and the last "::".
func moviesDatFn(emit func(ItemMeta) error) lineFn {
	return func(n int64, line string) (string, error) {
		id, rest, ok := strings.Cut(line, "::")
		i := strings.LastIndex(rest, "::")
		if !ok || i < 0 {
			return fmt.Sprintf("want 3 fields separated by %q, got %d", "::", strings.Count(line, "::")+1), nil
		}
		m := ItemMeta{Item: strings.TrimSpace(id), Title: latin1(strings.TrimSpace(rest[:i]))}
		if m.Item == "" {
			return "empty item", nil
		}
		m.Year = titleYear(m.Title)
		m.Genres = genres(rest[i+2:], "")
		return "", emit(m)
	}
}

// uItemFn parses id|title|release date|video release date|IMDb URL|19 flags.
func uItemFn(emit func(ItemMeta) error) lineFn {
	var f [5 + len(ML100KGenres)]string
	return func(n int64, line string) (string, error) {
		if k := splitInto(line, "|", f[:]); k != len(f) {
			return fmt.Sprintf("want %d fields separated by %q, got %d", len(f), "|", k), nil
		}
		m := ItemMeta{Item: f[0], Title: latin1(f[1])}
		if m.Item == "" {
			return "empty item", nil
		}
		m.Year = titleYear(m.Title)
		for i, flag := range f[5:] {
			switch flag {
			case "1":
				m.Genres = append(m.Genres, ML100KGenres[i])
			case "0":
			default:
				return fmt.Sprintf("genre flag %d is %q, want 0 or 1", i+1, cut(flag, 20)), nil
			}
		}
		return "", emit(m)
	}
}

// moviesCSVFn parses movieId,title,genres after the header.
func moviesCSVFn(emit func(ItemMeta) error) csvFn {
	first := true
	return func(n int64, rec []string, text string) (string, error) {
		if first {
			first = false
			if h := strings.TrimSpace(rec[0]); strings.EqualFold(h, "movieId") || strings.EqualFold(h, "item") {
				return "", nil
			}
		}
		if len(rec) != 3 {
			return fmt.Sprintf("want 3 fields, got %d", len(rec)), nil
		}
		m := ItemMeta{Item: strings.TrimSpace(rec[0]), Title: strings.TrimSpace(rec[1])}
		if m.Item == "" {
			return "empty item", nil
		}
		m.Year = titleYear(m.Title)
		m.Genres = genres(rec[2], "(no genres listed)")
		return "", emit(m)
	}
}

// itemAttributes parses {"item": [attribute ids], ...} entry by entry.
func (lr lineReader) itemAttributes(r io.Reader, emit func(ItemMeta) error) (int64, error) {
	dec := json.NewDecoder(r)
	var entries int64
	malformed := func(err error) (int64, error) {
		var syn *json.SyntaxError
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &syn) || err == io.EOF {
			return entries, lr.report(entries+1, "malformed JSON: "+err.Error(), "")
		}
		return entries, fmt.Errorf("%s: %w", lr.name, err)
	}
	tok, err := dec.Token()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return entries, lr.report(1, "want a JSON object of item -> attribute ids", fmt.Sprint(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return malformed(err)
		}
		entries++
		m, reason := attributes(key, raw)
		if reason != "" {
			err = lr.report(entries, reason, key+": "+string(raw))
		} else {
			err = emit(m)
		}
		if err != nil {
			return entries, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return malformed(err)
	}
	return entries, nil
}

// attributes turns one item2attributes entry into an ItemMeta.
func attributes(key string, raw json.RawMessage) (ItemMeta, string) {
	m := ItemMeta{Item: strings.TrimSpace(key)}
	if m.Item == "" {
		return m, "empty item"
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return m, "want an array of attribute ids"
	}
	for _, el := range elems {
		var id string
		switch c := el[0]; {
		case c == '"':
			if json.Unmarshal(el, &id) != nil {
				return m, "bad attribute id"
			}
		case c == '-' || c >= '0' && c <= '9':
			id = string(el)
		default:
			return m, fmt.Sprintf("attribute id %s is not a number or string", cut(string(el), 20))
		}
		m.Genres = append(m.Genres, id)
	}
	return m, ""
}

// genres splits a '|'-separated genre list; empty or none yields nil.
func genres(s, none string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == none {
		return nil
	}
	return strings.Split(s, "|")
}

// titleYear returns the year of a title ending in "(dddd)", else 0.
func titleYear(title string) int {
	t := strings.TrimSpace(title)
	k := len(t)
	if k < 6 || t[k-6] != '(' || t[k-1] != ')' {
		return 0
	}
	y := 0
	for _, c := range []byte(t[k-5 : k-1]) {
		if c < '0' || c > '9' {
			return 0
		}
		y = 10*y + int(c-'0')
	}
	return y
}

// latin1 decodes ISO-8859-1 text to UTF-8. ASCII and text that is already
// valid UTF-8 (a re-encoded copy of the file) are returned unchanged.
func latin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	d, err := charmap.ISO8859_1.NewDecoder().String(s)
	if err != nil { // cannot happen: every byte is a Latin-1 character
		return s
	}
	return d
}
