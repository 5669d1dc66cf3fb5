package transforms_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/genrec/genrec/transforms"
)

var fuzzFormats = []transforms.Format{transforms.FormatML1M, transforms.FormatML100K,
	transforms.FormatMLCSV, transforms.FormatSeqLines, transforms.FormatTable}

// FuzzParseEvents checks that no input makes a line or CSV parser panic,
// and that what comes out is consistent: events have a user and an item,
// bad lines a reason and a short text, and line numbers lie in the input.
// (Parquet is left out: decoding hostile Parquet is parquet-go's job.)
func FuzzParseEvents(f *testing.F) {
	seeds := []struct {
		format uint8
		data   string
	}{
		{0, "1::10::5::978300760\r\n2::11::3\n::1::2::3\n"},
		{1, "196\t242\t3\t881250949\n\n186\t\t3\tx\n"},
		{2, "userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,2,NaN,1\r\n"},
		{3, "1 2 3 4\n5\n\n6 7\r\n"},
		{4, "user,item,timestamp,title\n1,2,3,\"a, b\"\n4,5,6,\"x\ny\"\n7,8,9,\"open\n"},
	}
	for _, s := range seeds {
		f.Add(s.format, []byte(s.data))
	}
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		fm := fuzzFormats[int(format)%len(fuzzFormats)]
		maxLine := int64(bytes.Count(data, []byte("\n")) + 1)
		n, err := transforms.ParseEvents(bytes.NewReader(data), "in.csv", fm, transforms.ParseOptions{},
			func(e transforms.Event) error {
				if e.User == "" || e.Item == "" || e.Line < 1 || e.Line > maxLine {
					t.Errorf("bad event %+v", e)
				}
				return nil
			},
			func(b transforms.BadLine) error {
				if b.Reason == "" || len(b.Text) > 200 || b.Line < 1 || b.Line > maxLine {
					t.Errorf("bad BadLine %+v", b)
				}
				return nil
			})
		if n < 0 || n > maxLine {
			t.Errorf("lines: got %d, input has %d", n, maxLine)
		}
		// Only a table header without the needed columns is an error.
		if err != nil && (fm != transforms.FormatTable || !strings.Contains(err.Error(), "header")) {
			t.Errorf("%s: unexpected error %v", fm, err)
		}
	})
}

var fuzzItemFormats = []transforms.ItemFormat{transforms.ItemsML1M, transforms.ItemsML100K,
	transforms.ItemsMLCSV, transforms.ItemsS3RecAttrs}

// FuzzParseItems checks that no input makes an item parser panic.
func FuzzParseItems(f *testing.F) {
	f.Add(uint8(0), []byte("1::Caf\xe9 (1999)::Comedy|Drama\n2::x\n"))
	f.Add(uint8(2), []byte("movieId,title,genres\r\n1,\"A, B (1995)\",(no genres listed)\r\n"))
	f.Add(uint8(3), []byte(`{"4": [1, "2"], "5": 3, "6": [`))
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		fm := fuzzItemFormats[int(format)%len(fuzzItemFormats)]
		_, err := transforms.ParseItems(bytes.NewReader(data), "in", fm,
			func(m transforms.ItemMeta) error {
				if m.Item == "" {
					t.Errorf("item without id: %+v", m)
				}
				return nil
			},
			func(b transforms.BadLine) error { return nil })
		if err != nil {
			t.Errorf("%s: unexpected error %v", fm, err)
		}
	})
}

var fuzzUserFormats = []transforms.UserFormat{transforms.UsersML1M, transforms.UsersML100K}

// FuzzParseUsers checks that no input makes a user parser panic and that
// every user it emits has an id and an integer age.
func FuzzParseUsers(f *testing.F) {
	f.Add(uint8(0), []byte("1::F::1::10::48067\r\n2::M::x::16::70072\n::M::56::16::1\n3::M\n"))
	f.Add(uint8(1), []byte("1|24|M|technician|85711\n\n2|53|F|other\n|1|M|x|y\n"))
	f.Fuzz(func(t *testing.T, format uint8, data []byte) {
		fm := fuzzUserFormats[int(format)%len(fuzzUserFormats)]
		maxLine := int64(bytes.Count(data, []byte("\n")) + 1)
		_, err := transforms.ParseUsers(bytes.NewReader(data), "in", fm,
			func(u transforms.UserMeta) error {
				if u.User == "" {
					t.Errorf("user without id: %+v", u)
				}
				if _, err := strconv.Atoi(u.Age); err != nil {
					t.Errorf("user with non-integer age: %+v", u)
				}
				return nil
			},
			func(b transforms.BadLine) error {
				if b.Reason == "" || b.Line < 1 || b.Line > maxLine {
					t.Errorf("bad BadLine %+v", b)
				}
				return nil
			})
		if err != nil {
			t.Errorf("%s: unexpected error %v", fm, err)
		}
	})
}

// FuzzParseTable checks the generic table parser with set column names,
// each time format and a comma or tab delimiter: no panic; an error only
// for a header without the user, item or time column, naming the flag
// that sets it; events with a user and an item.
func FuzzParseTable(f *testing.F) {
	f.Add(uint8(0), false, []byte("u,i,t,r,l,x\n1,2,1700000000,4.5,1,a\n1,3,1700000000123,,0,b\n2,2,,1,1,\n"))
	f.Add(uint8(3), false, []byte("\ufeffu,i,t\r\n1,2,2024-01-02T03:04:05.5+01:00\r\n1,2,2024-01-02 03:04:05\r\n1,3,bad\r\n"))
	f.Add(uint8(4), true, []byte("u\ti\tt\tr\n1\t2\t2024-01-02\t3\n1\t\"2\t2024-13-40\n"))
	f.Add(uint8(2), false, []byte("u,i,t\n1,2,-1000\n1,2,9223372036854775807\n"))
	f.Add(uint8(1), false, []byte("user,item,timestamp\n1,2,3\n"))
	f.Fuzz(func(t *testing.T, tf uint8, tab bool, data []byte) {
		opt := transforms.ParseOptions{UserCol: "u", ItemCol: "i", TimeCol: "t", RatingCol: "r", LabelCol: "l",
			TimeFormat: transforms.TimeFormats[int(tf)%len(transforms.TimeFormats)]}
		if tab {
			opt.Delimiter = '\t'
		}
		maxLine := int64(bytes.Count(data, []byte("\n")) + 1)
		_, err := transforms.ParseEvents(bytes.NewReader(data), "in.csv", transforms.FormatTable, opt,
			func(e transforms.Event) error {
				if e.User == "" || e.Item == "" || e.Line < 2 || e.Line > maxLine {
					t.Errorf("bad event %+v", e)
				}
				return nil
			},
			func(b transforms.BadLine) error {
				if b.Reason == "" || b.Line < 1 || b.Line > maxLine {
					t.Errorf("bad BadLine %+v", b)
				}
				return nil
			})
		if err != nil && !strings.Contains(err.Error(), "-col") {
			t.Errorf("unexpected error %v", err)
		}
	})
}
