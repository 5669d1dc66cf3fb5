package transforms

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ratingLineFn parses the MovieLens rating lines user<sep>item<sep>rating<sep>timestamp
// (ratings.dat, u.data, ratings.csv). With header, a first line whose
// first field is "userId" is skipped.
func ratingLineFn(opt ParseOptions, emit func(Event) error, sep string, header bool) lineFn {
	var f [4]string
	first := header
	return func(n int64, line string) (string, error) {
		k := splitInto(line, sep, f[:])
		if first {
			first = false
			if strings.EqualFold(f[0], "userId") {
				return "", nil
			}
		}
		if k != len(f) {
			return fmt.Sprintf("want %d fields separated by %q, got %d", len(f), sep, k), nil
		}
		e := Event{User: f[0], Item: f[1], HasRating: true, Label: -1, Line: n}
		if reason := userItem(e.User, e.Item); reason != "" {
			return reason, nil
		}
		var reason string
		if e.Rating, reason = rating(f[2]); reason != "" {
			return reason, nil
		}
		if e.Timestamp, reason = timestamp(f[3]); reason != "" {
			return reason, nil
		}
		if !opt.keep(e) {
			return "", nil
		}
		return "", emit(e)
	}
}

// seqLineFn parses the S3-Rec line "user item item ...": one event per
// item, Timestamp its 1-based position and Pos its 0-based position.
func seqLineFn(emit func(Event) error) lineFn {
	return func(n int64, line string) (string, error) {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			return "want a user and at least one item", nil
		}
		for i, item := range fs[1:] {
			e := Event{User: fs[0], Item: item, Timestamp: int64(i + 1), Label: -1, Line: n, Pos: int32(i)}
			if err := emit(e); err != nil {
				return "", err
			}
		}
		return "", nil
	}
}

func userItem(user, item string) string {
	switch {
	case user == "":
		return "empty user"
	case item == "":
		return "empty item"
	}
	return ""
}

// timestamp parses an integer timestamp.
func timestamp(s string) (int64, string) {
	t, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("non-integer timestamp %q", cut(s, 40))
	}
	return t, ""
}

// rating parses a finite rating.
func rating(s string) (float64, string) {
	r, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, fmt.Sprintf("bad rating %q", cut(s, 40))
	}
	return r, ""
}

// label parses a 0/1 label (also "true"/"false").
func label(s string) (int8, string) {
	switch strings.ToLower(s) {
	case "0", "false":
		return 0, ""
	case "1", "true":
		return 1, ""
	}
	return 0, fmt.Sprintf("bad label %q (want 0 or 1)", cut(s, 40))
}
