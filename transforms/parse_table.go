package transforms

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// tableCols locates the columns of a generic table by position; a role
// whose column is absent has position -1.
type tableCols struct {
	user, item, time, rating, label int
	timeFormat                      string   // ParseOptions.TimeFormat
	names                           []string // every column, by position
	extra                           []int    // positions of the columns kept in Event.Extra
}

// newTableCols finds opt's column names among names. where prefixes the
// error for a missing user, item or time column.
func newTableCols(where string, names []string, opt ParseOptions) (tableCols, error) {
	pos := make(map[string]int, len(names))
	for i, n := range names {
		if _, dup := pos[n]; !dup {
			pos[n] = i
		}
	}
	find := func(col string) int {
		if i, ok := pos[col]; ok {
			return i
		}
		return -1
	}
	c := tableCols{
		user: find(opt.UserCol), item: find(opt.ItemCol), time: find(opt.TimeCol),
		rating: find(opt.RatingCol), label: find(opt.LabelCol), names: names, timeFormat: opt.TimeFormat,
	}
	for _, req := range []struct {
		pos       int
		col, role string
	}{{c.user, opt.UserCol, "user"}, {c.item, opt.ItemCol, "item"}, {c.time, opt.TimeCol, "time"}} {
		if req.pos < 0 {
			return c, fmt.Errorf("%s: no %s column %q among %q; set --%s-col (%s_col: in the config)", where, req.role, req.col, names, req.role, req.role)
		}
	}
	for i := range names {
		if i != c.user && i != c.item && i != c.time && i != c.rating && i != c.label {
			c.extra = append(c.extra, i)
		}
	}
	return c, nil
}

// event builds the Event of line (or row) n from its fields. An empty
// rating or label means none.
func (c tableCols) event(n int64, f []string) (Event, string) {
	if len(f) != len(c.names) {
		return Event{}, fmt.Sprintf("want %d fields, got %d", len(c.names), len(f))
	}
	e := Event{User: strings.TrimSpace(f[c.user]), Item: strings.TrimSpace(f[c.item]), Label: -1, Line: n}
	if reason := userItem(e.User, e.Item); reason != "" {
		return e, reason
	}
	var reason string
	if e.Timestamp, reason = parseTime(strings.TrimSpace(f[c.time]), c.timeFormat); reason != "" {
		return e, reason
	}
	if c.rating >= 0 {
		if s := strings.TrimSpace(f[c.rating]); s != "" {
			if e.Rating, reason = rating(s); reason != "" {
				return e, reason
			}
			e.HasRating = true
		}
	}
	if c.label >= 0 {
		if s := strings.TrimSpace(f[c.label]); s != "" {
			if e.Label, reason = label(s); reason != "" {
				return e, reason
			}
		}
	}
	if len(c.extra) > 0 {
		e.Extra = make(map[string]string, len(c.extra))
		for _, i := range c.extra {
			e.Extra[c.names[i]] = f[i]
		}
	}
	return e, ""
}

// csvTable parses a CSV table whose first record is the header.
func (lr lineReader) csvTable(r io.Reader, opt ParseOptions, emit func(Event) error) (int64, error) {
	if d := opt.Delimiter; d == '"' || d == '\n' || d == '\r' || !utf8.ValidRune(d) {
		return 0, fmt.Errorf("%s: invalid CSV delimiter %q", lr.name, d)
	}
	var cols *tableCols
	return lr.eachCSV(r, opt.Delimiter, func(n int64, rec []string, text string) (string, error) {
		if cols == nil {
			names := make([]string, len(rec))
			for i, s := range rec {
				names[i] = strings.TrimSpace(s)
			}
			c, err := newTableCols(fmt.Sprintf("%s:%d: header", lr.name, n), names, opt)
			cols = &c
			return "", err
		}
		e, reason := cols.event(n, rec)
		if reason != "" || !opt.keep(e) {
			return reason, nil
		}
		return "", emit(e)
	})
}

// parquetTable parses a flat Parquet table; Line is the 1-based row. Its
// top-level leaf columns are the table's columns (nested and repeated
// ones are ignored). A TIMESTAMP, DATE or INT96 time column is converted
// to seconds.
func (lr lineReader) parquetTable(r io.Reader, opt ParseOptions, emit func(Event) error) (rows int64, err error) {
	defer func() {
		if p := recover(); p != nil { // parquet-go panics on some corrupt files
			err = fmt.Errorf("%s: reading parquet: %v", lr.name, p)
		}
	}()
	ra, size, err := readerAt(r)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", lr.name, err)
	}
	f, err := parquet.OpenFile(ra, size)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", lr.name, err)
	}
	schema := f.Schema()
	pos := make([]int, len(schema.Columns())) // leaf column index -> table position
	for i := range pos {
		pos[i] = -1
	}
	var names []string
	var fields []parquet.Field
	for _, fld := range schema.Fields() {
		if leaf, ok := schema.Lookup(fld.Name()); ok && fld.Leaf() && !fld.Repeated() {
			pos[leaf.ColumnIndex] = len(names)
			names = append(names, fld.Name())
			fields = append(fields, fld)
		}
	}
	cols, err := newTableCols(lr.name, names, opt)
	if err != nil {
		return 0, err
	}
	toSeconds := timeConv(fields[cols.time])
	if toSeconds != nil { // a typed timestamp or date: already seconds, whatever TimeFormat says
		cols.timeFormat = TimeUnix
	}
	vals := make([]string, len(names))
	buf := make([]parquet.Row, 256)
	for _, rg := range f.RowGroups() {
		err := func() error {
			rr := rg.Rows()
			defer rr.Close()
			for {
				k, rerr := rr.ReadRows(buf)
				for _, row := range buf[:k] {
					rows++
					clear(vals)
					for _, v := range row {
						if c := v.Column(); c >= 0 && c < len(pos) && pos[c] >= 0 {
							vals[pos[c]] = valueString(v)
							if pos[c] == cols.time && toSeconds != nil && !v.IsNull() {
								vals[pos[c]] = toSeconds(v)
							}
						}
					}
					e, reason := cols.event(rows, vals)
					switch {
					case reason != "":
						err = lr.report(rows, reason, strings.Join(vals, ","))
					case opt.keep(e):
						err = emit(e)
					}
					if err != nil {
						return err
					}
				}
				if rerr == io.EOF {
					return nil
				}
				if rerr != nil {
					return fmt.Errorf("%s: row %d: %w", lr.name, rows+1, rerr)
				}
			}
		}()
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// timeConv returns how to turn the time column's value into seconds, or
// nil when the value is taken as is.
func timeConv(fld parquet.Field) func(parquet.Value) string {
	if fld.Type().Kind() == parquet.Int96 {
		return func(v parquet.Value) string {
			// INT96: nanoseconds of the day (low 8 bytes), then the Julian day.
			i := v.Int96()
			nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
			return strconv.FormatInt((int64(i[2])-2440588)*86400+nanos/1e9, 10)
		}
	}
	var per int64 // values per second; negative: seconds per value
	if lt := fld.Type().LogicalType(); lt != nil {
		switch t := lt.Value.(type) {
		case *format.TimestampType:
			if t.Unit.Value != nil {
				per = int64(time.Second / t.Unit.Value.Duration())
			}
		case *format.DateType:
			per = -86400
		}
	}
	if per == 0 || per == 1 {
		return nil
	}
	return func(v parquet.Value) string {
		t := v.Int64()
		if v.Kind() == parquet.Int32 { // DATE
			t = int64(v.Int32())
		}
		if per < 0 {
			return strconv.FormatInt(t*-per, 10)
		}
		return strconv.FormatInt(floorDiv(t, per), 10)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// valueString formats a Parquet value as a table field; null is "".
func valueString(v parquet.Value) string {
	if v.IsNull() {
		return ""
	}
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	}
	return v.String()
}

// readerAt gives random access to r, reading it into memory when r
// offers none.
func readerAt(r io.Reader) (io.ReaderAt, int64, error) {
	switch x := r.(type) {
	case interface {
		io.ReaderAt
		Size() int64
	}:
		return x, x.Size(), nil
	case interface {
		io.ReaderAt
		Stat() (fs.FileInfo, error)
	}:
		if fi, err := x.Stat(); err == nil && fi.Mode().IsRegular() {
			return x, fi.Size(), nil
		}
	}
	b, err := io.ReadAll(r)
	return bytes.NewReader(b), int64(len(b)), err
}

// CheckTableHeader reads the header line of the CSV table at path (local
// or remote; a .parquet table is checked by the parse itself) and reports
// a missing user, item or time column as the parse would, marked
// ErrInvalid, so that a job can refuse the file before anything runs.
func CheckTableHeader(ctx context.Context, path string, opt ParseOptions) error {
	if strings.EqualFold(filepath.Ext(path), ".parquet") {
		return nil
	}
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	defer r.Close()
	line, err := bufio.NewReaderSize(r, 1<<16).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	_, err = ParseEvents(strings.NewReader(line), path, FormatTable, opt, func(Event) error { return nil }, func(BadLine) error { return nil })
	return Invalid(err)
}
