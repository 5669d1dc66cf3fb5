package transforms_test

import (
	"strings"
	"testing"

	"github.com/genrec/genrec/transforms"
)

// Each time format of a CSV table, read through ParseEvents, gives unix
// seconds; the expected values are the dates' unix times (date -u -d ... +%s).
func TestTableTimeFormats(t *testing.T) {
	const want = 1700000000 // 2023-11-14T22:13:20Z
	cases := []struct {
		format, value string
		want          int64
	}{
		{"", "1700000000", want},
		{"", "1700000000123", want}, // auto: >= 1e11 is milliseconds
		{"", "2023-11-14T22:13:20Z", want},
		{"", "2023-11-14T23:13:20.5+01:00", want},
		{"", "2023-11-14 22:13:20", want},
		{"", "2023-11-14", 1699920000},
		{transforms.TimeUnix, "1700000000", want},
		{transforms.TimeUnixMS, "1700000000999", want},
		{transforms.TimeUnixMS, "-1", -1}, // floor, not truncation
		{transforms.TimeRFC3339, "2023-11-14T22:13:20Z", want},
		{transforms.TimeDate, "2023-11-14", 1699920000},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+tc.value, func(t *testing.T) {
			res := parseString(t, "u,i,when\nu1,i1,"+tc.value+"\n", "events.csv", transforms.FormatTable,
				transforms.ParseOptions{UserCol: "u", ItemCol: "i", TimeCol: "when", TimeFormat: tc.format})
			if len(res.events) != 1 || res.events[0].Timestamp != tc.want {
				t.Fatalf("got %+v (bad %v), want one event at %d", res.events, res.bad, tc.want)
			}
		})
	}
}

// A value the format cannot read is a bad line named by file:line and
// the format, not a silent zero.
func TestTableTimeFormatBadValue(t *testing.T) {
	cases := []struct{ format, good, value, reason string }{
		{"", "1", "yesterday", "bad time \"yesterday\""},
		{transforms.TimeUnix, "1", "2023-11-14", "for time format unix"},
		{transforms.TimeDate, "2023-11-14", "1700000000", "for time format date"},
		{transforms.TimeRFC3339, "2023-11-14T00:00:00Z", "14/11/2023", "for time format rfc3339"},
	}
	for _, tc := range cases {
		t.Run(tc.format+"/"+tc.value, func(t *testing.T) {
			res := parseString(t, "user,item,timestamp\nu1,i1,"+tc.good+"\nu1,i2,"+tc.value+"\n", "events.csv", transforms.FormatTable,
				transforms.ParseOptions{TimeFormat: tc.format})
			if len(res.bad) != 1 {
				t.Fatalf("bad lines %v, want one", res.bad)
			}
			if got := res.bad[0].String(); !strings.HasPrefix(got, "events.csv:3: ") || !strings.Contains(got, tc.reason) {
				t.Fatalf("bad line %s, want events.csv:3 and %q", got, tc.reason)
			}
		})
	}
}

func TestValidTimeFormat(t *testing.T) {
	for _, f := range append([]string{""}, transforms.TimeFormats...) {
		if err := transforms.ValidTimeFormat(f); err != nil {
			t.Errorf("%q: %v", f, err)
		}
	}
	if err := transforms.ValidTimeFormat("epoch"); err == nil || !strings.Contains(err.Error(), "unix_ms") {
		t.Errorf("epoch: err = %v, want the list of formats", err)
	}
}
