package transforms

import (
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// UserFormat names the layout of a user metadata file read by ParseUsers.
type UserFormat string

// The user metadata formats ParseUsers reads.
const (
	// UsersML1M is MovieLens 1M users.dat: UserID::Gender::Age::Occupation::Zip-code
	// (Age and Occupation are codes, kept as written).
	UsersML1M UserFormat = "ml-1m-users"
	// UsersML100K is MovieLens 100K u.user: user id|age|gender|occupation|zip code.
	UsersML100K UserFormat = "ml-100k-users"
)

var userFormats = []UserFormat{UsersML1M, UsersML100K}

// ParseUserFormat returns the UserFormat named s, or an error listing the
// supported ones.
func ParseUserFormat(s string) (UserFormat, error) {
	return lookupName(s, "user format", userFormats)
}

// DetectUserFormat guesses the UserFormat from a file name: users.dat or
// u.user.
func DetectUserFormat(path string) (UserFormat, error) {
	switch strings.ToLower(filepath.Base(path)) {
	case "users.dat":
		return UsersML1M, nil
	case "u.user":
		return UsersML100K, nil
	}
	return "", fmt.Errorf("cannot tell the user format of %s from its name; pass --format (one of %s)", path, joinNames(userFormats))
}

// ParseUsers reads the user metadata file r in format f and calls emit for
// every user and bad for every malformed line, as ParseEvents does (same
// return values, error and fail-fast rules). A line is malformed when it
// has the wrong number of fields, an empty user id or a non-integer age.
func ParseUsers(r io.Reader, name string, f UserFormat, emit func(UserMeta) error, bad func(BadLine) error) (lines int64, err error) {
	if emit == nil {
		panic("transforms: ParseUsers with nil emit")
	}
	lr := lineReader{name: name, bad: bad}
	switch f {
	case UsersML1M:
		// UserID::Gender::Age::Occupation::Zip-code
		return lr.each(r, userLineFn(emit, "::", func(f []string) UserMeta {
			return UserMeta{User: f[0], Gender: f[1], Age: f[2], Occupation: f[3], Zip: f[4]}
		}))
	case UsersML100K:
		// user id|age|gender|occupation|zip code
		return lr.each(r, userLineFn(emit, "|", func(f []string) UserMeta {
			return UserMeta{User: f[0], Age: f[1], Gender: f[2], Occupation: f[3], Zip: f[4]}
		}))
	}
	return 0, fmt.Errorf("%s: unknown user format %q (supported: %s)", name, f, joinNames(userFormats))
}

// userLineFn parses a line of five sep-separated fields that order maps
// to a UserMeta.
func userLineFn(emit func(UserMeta) error, sep string, order func([]string) UserMeta) lineFn {
	var f [5]string
	return func(n int64, line string) (string, error) {
		if k := splitInto(line, sep, f[:]); k != len(f) {
			return fmt.Sprintf("want %d fields separated by %q, got %d", len(f), sep, k), nil
		}
		u := order(f[:])
		if u.User == "" {
			return "empty user", nil
		}
		if _, err := strconv.Atoi(u.Age); err != nil {
			return fmt.Sprintf("non-integer age %q", cut(u.Age, 20)), nil
		}
		return "", emit(u)
	}
}
