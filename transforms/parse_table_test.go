package transforms_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/genrec/genrec/transforms"
)

func TestParseEventsTableCSV(t *testing.T) {
	type ex = map[string]string
	cases := []struct {
		name  string
		opt   transforms.ParseOptions
		input string
		lines int64
		want  []transforms.Event
		bad   []wantBad
	}{{
		name: "defaults with extra columns",
		input: "\ufeffuser,item,timestamp,rating,label,title,country\r\n" +
			"u1,i1,100,4.5,1,\"Heat, 1995\",FR\r\n" +
			"\r\n" +
			"u1,i2,101,,,\"She said \"\"hi\"\"\",DE\r\n" +
			"u2,i3,102,3,0,\"two\nlines\",\r\n" + // a quoted field over lines 5-6
			"u2,i4,103,3,1\r\n" +
			"u2,i5,104,3,2,t,c\r\n" +
			"u3,i6,1.5,3,1,t,c\r\n" +
			"u3,i7,105,3,1,\"t\"x,c\r\n" +
			"u3,i8,106,,,5\" screen,US\r\n" +
			"u4,i9,107,5,1,\"open",
		lines: 12,
		want: []transforms.Event{
			{User: "u1", Item: "i1", Timestamp: 100, Rating: 4.5, HasRating: true, Label: 1, Line: 2,
				Extra: ex{"title": "Heat, 1995", "country": "FR"}},
			{User: "u1", Item: "i2", Timestamp: 101, Label: -1, Line: 4,
				Extra: ex{"title": `She said "hi"`, "country": "DE"}},
			{User: "u2", Item: "i3", Timestamp: 102, Rating: 3, HasRating: true, Label: 0, Line: 5,
				Extra: ex{"title": "two\nlines", "country": ""}},
			{User: "u3", Item: "i8", Timestamp: 106, Label: -1, Line: 11,
				Extra: ex{"title": `5" screen`, "country": "US"}},
		},
		bad: []wantBad{{7, "want 7 fields, got 5"}, {8, "bad label"}, {9, "bad time \"1.5\""},
			{10, "after closing quote"}, {12, "unterminated quoted field"}},
	}, {
		name: "custom columns and delimiter",
		opt: transforms.ParseOptions{UserCol: "uid", ItemCol: "sku", TimeCol: "ts", RatingCol: "stars",
			LabelCol: "clicked", Delimiter: ';', MinRating: 2},
		input: "ts;sku;uid;stars;clicked\n10;a;x;1;1\n11;b;x;2;0\n12;c;;2;0\n",
		lines: 4,
		want:  []transforms.Event{{User: "x", Item: "b", Timestamp: 11, Rating: 2, HasRating: true, Label: 0, Line: 3}},
		bad:   []wantBad{{4, "empty user"}},
	}, {
		name:  "tab delimiter, no rating or label columns",
		opt:   transforms.ParseOptions{Delimiter: '\t'},
		input: "item\tuser\ttimestamp\n7\t1\t-5\n",
		lines: 2,
		want:  []transforms.Event{{User: "1", Item: "7", Timestamp: -5, Label: -1, Line: 2}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseString(t, c.input, "events.csv", transforms.FormatTable, c.opt)
			if !reflect.DeepEqual(got.events, c.want) {
				t.Errorf("events:\ngot  %+v\nwant %+v", got.events, c.want)
			}
			if got.lines != c.lines {
				t.Errorf("lines: got %d, want %d", got.lines, c.lines)
			}
			checkBad(t, "events.csv", got.bad, c.bad)
		})
	}
}

func TestParseEventsTableUnterminatedQuote(t *testing.T) {
	// A quoted field still open after 1000 lines is reported where it
	// started and parsing resumes after it.
	input := "user,item,timestamp,title\n1,2,3,\"never closed\n" +
		strings.Repeat("a \"\"quoted\"\" line\n", 1000) + "4,5,6,ok\n"
	got := parseString(t, input, "events.csv", transforms.FormatTable, transforms.ParseOptions{})
	want := []transforms.Event{{User: "4", Item: "5", Timestamp: 6, Label: -1, Line: 1003,
		Extra: map[string]string{"title": "ok"}}}
	if !reflect.DeepEqual(got.events, want) {
		t.Errorf("events:\ngot  %+v\nwant %+v", got.events, want)
	}
	checkBad(t, "events.csv", got.bad, []wantBad{{2, "unterminated quoted field"}})
}

func TestParseEventsTableMissingColumn(t *testing.T) {
	for _, opt := range []transforms.ParseOptions{{}, {TimeCol: "when"}} {
		_, err := transforms.ParseEvents(strings.NewReader("user,item,time\n1,2,3\n"), "events.csv",
			transforms.FormatTable, opt, func(transforms.Event) error { return nil }, nil)
		if err == nil || !strings.Contains(err.Error(), "events.csv:1") {
			t.Errorf("TimeCol %q: got error %v, want one naming the header line events.csv:1", opt.TimeCol, err)
		}
	}
}

// clickRow is a Parquet row with an integer time in seconds.
type clickRow struct {
	UID     string   `parquet:"uid"`
	Item    int64    `parquet:"item"`
	TS      int64    `parquet:"ts"`
	Rating  *float64 `parquet:"rating,optional"`
	Label   int32    `parquet:"label"`
	Country string   `parquet:"country"`
}

// stampRow is a Parquet row with a TIMESTAMP(MILLIS) time.
type stampRow struct {
	User      string    `parquet:"user"`
	Item      string    `parquet:"item"`
	Timestamp time.Time `parquet:"timestamp,timestamp(millisecond)"`
}

func writeParquet[T any](t *testing.T, rows []T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	return path
}

func parseFile(t *testing.T, path string, opt transforms.ParseOptions) result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var res result
	res.lines, err = transforms.ParseEvents(f, filepath.Base(path), transforms.FormatTable, opt,
		func(e transforms.Event) error { res.events = append(res.events, e); return nil },
		func(b transforms.BadLine) error { res.bad = append(res.bad, b); return nil })
	if err != nil {
		t.Fatalf("ParseEvents(%s): %v", path, err)
	}
	return res
}

func TestParseEventsTableParquet(t *testing.T) {
	four := 4.0
	path := writeParquet(t, []clickRow{
		{UID: "a", Item: 1, TS: 1000, Rating: &four, Label: 1, Country: "FR"},
		{UID: "a", Item: 2, TS: 1001, Label: 0, Country: "DE"}, // null rating
		{UID: "", Item: 3, TS: 1002, Label: 1},
		{UID: "b", Item: 4, TS: 1003, Label: 7},
	})
	got := parseFile(t, path, transforms.ParseOptions{UserCol: "uid", TimeCol: "ts"})
	want := []transforms.Event{
		{User: "a", Item: "1", Timestamp: 1000, Rating: 4, HasRating: true, Label: 1, Line: 1,
			Extra: map[string]string{"country": "FR"}},
		{User: "a", Item: "2", Timestamp: 1001, Label: 0, Line: 2, Extra: map[string]string{"country": "DE"}},
	}
	if !reflect.DeepEqual(got.events, want) {
		t.Errorf("events:\ngot  %+v\nwant %+v", got.events, want)
	}
	if got.lines != 4 {
		t.Errorf("rows: got %d, want 4", got.lines)
	}
	checkBad(t, "events.parquet", got.bad, []wantBad{{3, "empty user"}, {4, "bad label"}})

	// A TIMESTAMP(MILLIS) column is read as seconds, rounded down.
	at := time.Date(2020, 1, 2, 3, 4, 5, 678e6, time.UTC)
	got = parseFile(t, writeParquet(t, []stampRow{{User: "u", Item: "i", Timestamp: at}}), transforms.ParseOptions{})
	want = []transforms.Event{{User: "u", Item: "i", Timestamp: at.Unix(), Label: -1, Line: 1}}
	if !reflect.DeepEqual(got.events, want) || len(got.bad) != 0 {
		t.Errorf("timestamp(millisecond): got %+v, bad %v; want %+v", got.events, got.bad, want)
	}

	// A corrupt file and a missing time column are errors, not bad rows.
	_, err := transforms.ParseEvents(strings.NewReader("PAR1garbage"), "x.parquet", transforms.FormatTable,
		transforms.ParseOptions{}, func(transforms.Event) error { return nil }, nil)
	if err == nil {
		t.Error("corrupt parquet: got nil error")
	}
	f, _ := os.Open(path)
	defer f.Close()
	_, err = transforms.ParseEvents(f, "events.parquet", transforms.FormatTable, transforms.ParseOptions{UserCol: "uid"},
		func(transforms.Event) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), `"timestamp"`) {
		t.Errorf("missing time column: got %v, want an error naming it", err)
	}
}

// CheckTableHeader refuses, before a job, a CSV table without the columns
// the options name, as the parse would, marked transforms.ErrInvalid.
func TestCheckTableHeader(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("\ufeffu,i,t\r\nalice,x,2026-11-03\n"), 0o644)
	opt := transforms.ParseOptions{UserCol: "u", ItemCol: "i", TimeCol: "t"}
	if err := transforms.CheckTableHeader(context.Background(), good, opt); err != nil {
		t.Errorf("good header: %v", err)
	}
	opt.TimeCol = "timestamp"
	err := transforms.CheckTableHeader(context.Background(), good, opt)
	if !errors.Is(err, transforms.ErrInvalid) || !strings.Contains(err.Error(), `no time column "timestamp"`) || !strings.Contains(err.Error(), "good.csv") {
		t.Errorf("missing time column: %v", err)
	}
	if err := transforms.CheckTableHeader(context.Background(), filepath.Join(dir, "none.csv"), opt); err == nil || errors.Is(err, transforms.ErrInvalid) {
		t.Errorf("missing file: %v, want a plain read error", err)
	}
}
