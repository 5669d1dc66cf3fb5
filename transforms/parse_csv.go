package transforms

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// maxRecordLines bounds how many lines a quoted CSV field may span before
// the record is reported as unterminated and parsing resumes on the next
// line.
const maxRecordLines = 1000

// csvFn handles one CSV record that starts on line n; text is the record
// as written (its lines joined by '\n'). A non-empty reason marks the
// record as malformed; err stops the loop.
type csvFn func(n int64, rec []string, text string) (reason string, err error)

// eachCSV runs the line loop over RFC 4180 CSV: fields separated by comma,
// optionally quoted with '"' ("" inside quotes is a quote), quoted fields
// may span lines. Quotes inside unquoted fields are kept literally. Blank
// lines outside quoted fields are skipped. The rec passed to fn is reused
// between calls; its strings are not. Time is linear in the input.
func (lr lineReader) eachCSV(r io.Reader, comma rune, fn csvFn) (int64, error) {
	lr.keepBlank = true // a quoted field may contain an empty line
	var (
		rec   []string
		text  string
		long  strings.Builder // text of a record over several lines
		start int64
		open  bool
		at    int // where the open quoted field starts in text
		perr  error
	)
	lines, err := lr.each(r, func(n int64, line string) (string, error) {
		if open {
			if long.Len() == 0 {
				long.WriteString(text)
			}
			long.WriteByte('\n')
			long.WriteString(line)
			text = long.String()
			if n-start >= maxRecordLines || len(text) > maxLine {
				open = false
				return "", lr.report(start, "unterminated quoted field", text)
			}
			if _, _, closes := quoted(line); !closes {
				return "", nil // the field goes on: no need to split again
			}
			rec, open, at, perr = splitCSV(text, at, comma, rec)
		} else {
			if blank(line) {
				return "", nil
			}
			start, text, long = n, line, strings.Builder{}
			rec, open, at, perr = splitCSV(text, 0, comma, rec[:0])
		}
		switch {
		case open:
			return "", nil
		case perr != nil:
			return "", lr.report(start, perr.Error(), text)
		}
		reason, err := fn(start, rec, text)
		if err == nil && reason != "" {
			err = lr.report(start, reason, text)
		}
		return "", err
	})
	if err == nil && open {
		err = lr.report(start, "unterminated quoted field", text)
	}
	return lines, err
}

var errAfterQuote = errors.New("text after closing quote")

// splitCSV appends the fields of the CSV record s[from:] to dst, from
// being the start of a field. open reports a quoted field still open at
// the end of s, starting at s[at]: the record continues on the next line
// and splitting resumes there, after the fields before it.
func splitCSV(s string, from int, comma rune, dst []string) (fields []string, open bool, at int, err error) {
	i := from
	for {
		if i == len(s) || s[i] != '"' {
			k := strings.IndexRune(s[i:], comma)
			if k < 0 {
				return append(dst, s[i:]), false, 0, nil
			}
			dst = append(dst, s[i:i+k])
			i += k + utf8.RuneLen(comma)
			continue
		}
		f, rest, ok := quoted(s[i+1:])
		if !ok {
			return dst, true, i, nil
		}
		dst = append(dst, f)
		if rest == "" {
			return dst, false, 0, nil
		}
		r, size := utf8.DecodeRuneInString(rest)
		if r != comma {
			return dst, false, 0, errAfterQuote
		}
		i = len(s) - len(rest) + size
	}
}

// quoted reads a quoted field whose opening quote is already consumed. It
// returns the unescaped field and the text after the closing quote; ok is
// false when s ends inside the field.
func quoted(s string) (field, rest string, ok bool) {
	i := strings.IndexByte(s, '"')
	if i < 0 {
		return "", "", false
	}
	if i+1 >= len(s) || s[i+1] != '"' {
		return s[:i], s[i+1:], true // no escaped quotes: share s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			return "", "", false
		}
		if i+1 < len(s) && s[i+1] == '"' {
			b.WriteString(s[:i+1])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		return b.String(), s[i+1:], true
	}
}
