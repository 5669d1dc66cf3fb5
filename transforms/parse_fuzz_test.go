package transforms_test

import (
	"bytes"
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
