package synthetic

import (
	"bufio"
	"io"
	"strconv"

	"github.com/genrec/genrec/transforms"
)

// WriteInteractionsCSV writes cfg's data set to w as a generic table: the
// header "user,item,timestamp,rating", then one line per event in
// Generate's order (users in order, each chronologically), e.g.
//
//	u1,i417,1583020799,4
//
// with timestamp in seconds since the epoch. It returns the number of
// events written and the first validation or write error.
func WriteInteractionsCSV(w io.Writer, cfg Config) (n int64, err error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString("user,item,timestamp,rating\n"); err != nil {
		return 0, err
	}
	var buf []byte
	err = Generate(cfg, func(e transforms.Event) error {
		buf = append(buf[:0], e.User...)
		buf = append(buf, ',')
		buf = append(buf, e.Item...)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, e.Timestamp, 10)
		buf = append(buf, ',')
		buf = strconv.AppendInt(buf, int64(e.Rating), 10)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		n++
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// WriteItemsCSV writes the items of cfg's data set to w: the header
// "item,title,category", then one line per item in id order, e.g.
//
//	i42,Item 42 (category 7),c7
func WriteItemsCSV(w io.Writer, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("item,title,category\n")
	for _, it := range Items(cfg) {
		bw.WriteString(it.Item + "," + it.Title + "," + it.Genres[0] + "\n")
	}
	return bw.Flush()
}
