package transforms_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/genrec/genrec/transforms"
)

// result is what one ParseEvents call produced.
type result struct {
	events []transforms.Event
	bad    []transforms.BadLine
	lines  int64
}

func parseString(t *testing.T, input, name string, f transforms.Format, opt transforms.ParseOptions) result {
	t.Helper()
	var res result
	n, err := transforms.ParseEvents(strings.NewReader(input), name, f, opt,
		func(e transforms.Event) error { res.events = append(res.events, e); return nil },
		func(b transforms.BadLine) error { res.bad = append(res.bad, b); return nil })
	if err != nil {
		t.Fatalf("ParseEvents(%s): %v", name, err)
	}
	res.lines = n
	return res
}

// rated is a rating event of a one-event-per-line format.
func rated(user, item string, ts int64, r float64, line int64) transforms.Event {
	return transforms.Event{User: user, Item: item, Timestamp: ts, Rating: r, HasRating: true, Label: -1, Line: line}
}

// wantBad is an expected BadLine: its line and a part of its reason.
type wantBad struct {
	line   int64
	reason string
}

func checkBad(t *testing.T, name string, got []transforms.BadLine, want []wantBad) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("bad lines: got %d %v, want %d %v", len(got), got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.File != name || g.Line != w.line || !strings.Contains(g.Reason, w.reason) {
			t.Errorf("bad line %d: got %s, want %s:%d with reason containing %q", i, g, name, w.line, w.reason)
		}
	}
}

func TestParseEventsLines(t *testing.T) {
	cases := []struct {
		name   string
		format transforms.Format
		opt    transforms.ParseOptions
		input  string
		lines  int64
		want   []transforms.Event
		bad    []wantBad
	}{{
		name:   "ratings.dat",
		format: transforms.FormatML1M,
		input: "1::10::5::978300760\r\n" +
			"\n" +
			"2::11::3\n" + // 3 fields
			"3::12::4::soon\n" +
			"::13::4::978300761\n" +
			"4::14::x::978300762\n" +
			"  \t \n" +
			"5::15::1::978300763",
		lines: 8,
		want:  []transforms.Event{rated("1", "10", 978300760, 5, 1), rated("5", "15", 978300763, 1, 8)},
		bad: []wantBad{{3, "want 4 fields"}, {4, "non-integer timestamp"}, {5, "empty user"},
			{6, "bad rating"}},
	}, {
		name:   "u.data",
		format: transforms.FormatML100K,
		input:  "196\t242\t3\t881250949\n186\t\t3\t891717742\n22\t377\t1\t878887116\t9\n244\t51\t2\t880606923\n",
		lines:  4,
		want:   []transforms.Event{rated("196", "242", 881250949, 3, 1), rated("244", "51", 880606923, 2, 4)},
		bad:    []wantBad{{2, "empty item"}, {3, "got 5"}},
	}, {
		name:   "ratings.csv",
		format: transforms.FormatMLCSV,
		input:  "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,NaN,964981247\r\n\r\n2,6,0.5,964982224\r\n",
		lines:  5,
		want:   []transforms.Event{rated("1", "1", 964982703, 4, 2), rated("2", "6", 964982224, 0.5, 5)},
		bad:    []wantBad{{3, "bad rating"}},
	}, {
		name:   "ratings.csv without header, MinRating",
		format: transforms.FormatMLCSV,
		opt:    transforms.ParseOptions{MinRating: 3.5},
		input:  "1,1,4.0,964982703\n1,2,3.0,964982704\n1,3,3.5,964982705\n",
		lines:  3,
		want:   []transforms.Event{rated("1", "1", 964982703, 4, 1), rated("1", "3", 964982705, 3.5, 3)},
	}, {
		name:   "Beauty.txt",
		format: transforms.FormatSeqLines,
		input:  "1 7 8 9\r\n\n2 7\n3\n",
		lines:  4,
		want: []transforms.Event{
			{User: "1", Item: "7", Timestamp: 1, Label: -1, Line: 1, Pos: 0},
			{User: "1", Item: "8", Timestamp: 2, Label: -1, Line: 1, Pos: 1},
			{User: "1", Item: "9", Timestamp: 3, Label: -1, Line: 1, Pos: 2},
			{User: "2", Item: "7", Timestamp: 1, Label: -1, Line: 3, Pos: 0},
		},
		bad: []wantBad{{4, "at least one item"}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseString(t, c.input, c.name, c.format, c.opt)
			if !reflect.DeepEqual(got.events, c.want) {
				t.Errorf("events:\ngot  %+v\nwant %+v", got.events, c.want)
			}
			if got.lines != c.lines {
				t.Errorf("lines: got %d, want %d", got.lines, c.lines)
			}
			checkBad(t, c.name, got.bad, c.bad)
		})
	}
}

func TestParseEventsBadText(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	got := parseString(t, long+"\n", "u.data", transforms.FormatML100K, transforms.ParseOptions{})
	if len(got.bad) != 1 {
		t.Fatalf("bad lines: got %d, want 1", len(got.bad))
	}
	if text := got.bad[0].Text; text != strings.Repeat("é", 100) {
		t.Errorf("Text: got %d bytes %q, want the first 200 bytes", len(text), text)
	}
}

func TestParseEventsFailFast(t *testing.T) {
	stop := errors.New("stop")
	input := "1\t2\t3\t4\n1\t2\t3\n1\t2\t3\t4\n1\t2\n"
	var events int
	n, err := transforms.ParseEvents(strings.NewReader(input), "u.data", transforms.FormatML100K, transforms.ParseOptions{},
		func(transforms.Event) error { events++; return nil },
		func(transforms.BadLine) error { return stop })
	if !errors.Is(err, stop) || n != 2 || events != 1 {
		t.Errorf("got (lines %d, err %v, %d events), want (2, %v, 1)", n, err, events, stop)
	}

	// A nil bad fails on the first malformed line, naming it.
	_, err = transforms.ParseEvents(strings.NewReader(input), "u.data", transforms.FormatML100K, transforms.ParseOptions{},
		func(transforms.Event) error { return nil }, nil)
	if err == nil || !strings.Contains(err.Error(), "u.data:2:") {
		t.Errorf("nil bad: got error %v, want one naming u.data:2", err)
	}

	// An error from emit ends the parse and comes back unchanged.
	n, err = transforms.ParseEvents(strings.NewReader("1 2 3 4\n5 6\n"), "Beauty.txt", transforms.FormatSeqLines, transforms.ParseOptions{},
		func(e transforms.Event) error {
			if e.Item == "3" {
				return stop
			}
			return nil
		}, nil)
	if err != stop || n != 1 {
		t.Errorf("emit error: got (lines %d, err %v), want (1, %v)", n, err, stop)
	}
}

func TestParseEventsUnknownFormat(t *testing.T) {
	_, err := transforms.ParseEvents(strings.NewReader(""), "x", "nope", transforms.ParseOptions{},
		func(transforms.Event) error { return nil }, nil)
	if err == nil {
		t.Error("unknown format: got nil error")
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []transforms.Format{transforms.FormatML1M, transforms.FormatML100K,
		transforms.FormatMLCSV, transforms.FormatSeqLines, transforms.FormatTable} {
		if got, err := transforms.ParseFormat(string(f)); got != f || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q, nil", f, got, err, f)
		}
	}
	_, err := transforms.ParseFormat("ml-20m")
	if err == nil || !strings.Contains(err.Error(), "seq-lines") {
		t.Errorf("ParseFormat(ml-20m): got %v, want an error listing the formats", err)
	}
}

func TestParseDetectFormat(t *testing.T) {
	cases := []struct {
		path string
		want transforms.Format // "" = error
	}{
		{"/data/ml-1m/ratings.dat", transforms.FormatML1M},
		{"ml-100k/u.data", transforms.FormatML100K},
		{"ml-100k/u1.base", transforms.FormatML100K},
		{"ml-100k/ua.test", transforms.FormatML100K},
		{"ml-latest-small/ratings.csv", transforms.FormatMLCSV},
		{"Beauty.txt", transforms.FormatSeqLines},
		{"data/Sports_and_Outdoors.txt", transforms.FormatSeqLines},
		{"events.csv", transforms.FormatTable},
		{"events.PARQUET", transforms.FormatTable},
		{"movies.dat", ""},
		{"u.item", ""},
		{"events.json", ""},
	}
	for _, c := range cases {
		got, err := transforms.DetectFormat(c.path)
		if c.want == "" {
			if err == nil || !strings.Contains(err.Error(), "--format") {
				t.Errorf("DetectFormat(%q) = %q, %v; want an error asking for --format", c.path, got, err)
			}
			continue
		}
		if got != c.want || err != nil {
			t.Errorf("DetectFormat(%q) = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
}
