package transforms

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time formats of a table's time column (ParseOptions.TimeFormat).
const (
	TimeAuto    = "auto"    // the default: each value as whichever of the formats below it is
	TimeUnix    = "unix"    // integer seconds since 1970-01-01 UTC
	TimeUnixMS  = "unix_ms" // integer milliseconds since 1970-01-01 UTC
	TimeRFC3339 = "rfc3339" // RFC 3339 / ISO-8601: 2006-01-02T15:04:05Z07:00, fraction and zone optional, 'T' or ' '
	TimeDate    = "date"    // a plain date 2006-01-02, taken as midnight UTC
)

// TimeFormats lists the accepted TimeFormat values, for flag help and errors.
var TimeFormats = []string{TimeAuto, TimeUnix, TimeUnixMS, TimeRFC3339, TimeDate}

// autoMillis is where TimeAuto reads an integer as milliseconds:
// 1e11 s is the year 5138, 1e11 ms is 1973-03-03.
const autoMillis = 100_000_000_000

// ValidTimeFormat returns an error naming the accepted formats when f is
// not one of them ("" means TimeAuto).
func ValidTimeFormat(f string) error {
	for _, ok := range TimeFormats {
		if f == "" || f == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown time format %q (want one of %s)", f, strings.Join(TimeFormats, ", "))
}

// isoLayouts are the RFC 3339 / ISO-8601 spellings accepted; one without
// a zone is UTC.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

// parseTime reads s as a time in format (see the Time* constants) and
// returns unix seconds, rounding milliseconds and fractions down:
//
//	unix:    t = n
//	unix_ms: t = floor(n / 1000)
//	auto:    an integer n is unix when |n| < 1e11, unix_ms otherwise;
//	         else RFC 3339, else a date
//
// A value it cannot read gives a reason naming the format, for the
// file:line error of the caller.
func parseTime(s, format string) (int64, string) {
	integer := func() (int64, bool) {
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	iso := func() (int64, bool) {
		for _, l := range isoLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.Unix(), true
			}
		}
		return 0, false
	}
	date := func() (int64, bool) {
		t, err := time.Parse(time.DateOnly, s)
		return t.Unix(), err == nil
	}
	switch format {
	case TimeUnix:
		if n, ok := integer(); ok {
			return n, ""
		}
	case TimeUnixMS:
		if n, ok := integer(); ok {
			return floorDiv(n, 1000), ""
		}
	case TimeRFC3339:
		if t, ok := iso(); ok {
			return t, ""
		}
	case TimeDate:
		if t, ok := date(); ok {
			return t, ""
		}
	default:
		if n, ok := integer(); ok {
			if n >= autoMillis || n <= -autoMillis {
				return floorDiv(n, 1000), ""
			}
			return n, ""
		}
		if t, ok := iso(); ok {
			return t, ""
		}
		if t, ok := date(); ok {
			return t, ""
		}
		return 0, fmt.Sprintf("bad time %q (want unix seconds or milliseconds, RFC 3339 or a date 2006-01-02)", cut(s, 40))
	}
	return 0, fmt.Sprintf("bad time %q for time format %s", cut(s, 40), format)
}
