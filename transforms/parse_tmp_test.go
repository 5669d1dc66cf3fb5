package transforms_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/genrec/genrec/transforms"
)

func TestParseTmpDump(t *testing.T) {
	for _, c := range []struct{ p string; f transforms.ItemFormat }{{"../../shared/data/ml-1m-metadata/movies.dat", transforms.ItemsML1M}, {"../../shared/data/ml-100k/u.item", transforms.ItemsML100K}} {
		f, _ := os.Open(c.p)
		out, _ := os.Create("/tmp/" + string(c.f) + ".txt")
		transforms.ParseItems(f, "x", c.f, func(m transforms.ItemMeta) error { fmt.Fprintf(out, "%s::%s::%v\n", m.Item, m.Title, m.Year); return nil }, nil)
		out.Close()
	}
}
