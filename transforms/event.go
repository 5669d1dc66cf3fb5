package transforms

import "fmt"

// Event is one user-item interaction as read from a source, before any
// vocabulary encoding. Ids are kept as the source spells them.
type Event struct {
	User      string
	Item      string
	Timestamp int64 // seconds since the epoch; sources without time use the position in the user's line (1-based)
	Rating    float64
	HasRating bool
	Label     int8 // -1: none; 0/1 for labelled sources
	// Line is the 1-based line the event came from and Pos its position on
	// that line (0 for one-event-per-line formats). Together with the
	// file's index they give the file order, the tie-breaker when two
	// events of a user share a timestamp.
	Line int64
	Pos  int32
	// Extra holds additional columns of a generic table, by header name.
	Extra map[string]string
}

// BadLine is a line a parser could not use. File and Line locate it
// (Line is 1-based); Reason says what was wrong.
type BadLine struct {
	File   string
	Line   int64
	Reason string
	Text   string // the offending line, cut to 200 bytes
}

func (b BadLine) String() string {
	return fmt.Sprintf("%s:%d: %s: %q", b.File, b.Line, b.Reason, b.Text)
}

// ItemMeta is the side information of one item from a metadata file
// (movies.dat, u.item, movies.csv).
type ItemMeta struct {
	Item   string
	Title  string   // decoded to UTF-8
	Year   int      // 0 when the title carries none
	Genres []string // in file order
}

// UserMeta is the side information of one user (users.dat, u.user).
type UserMeta struct {
	User       string
	Gender     string
	Age        string
	Occupation string
	Zip        string
}
