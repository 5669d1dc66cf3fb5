package transforms_test

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/genrec/genrec/transforms"
)

// These tests read the real datasets under shared/data (or $GENREC_DATA).
// Their licences forbid copying them into the repository, so the tests
// skip when the files are absent. Expected counts are those of each
// dataset's README / PROVENANCE.txt.

// dataFile returns the path of rel in the data folder, skipping the test
// when it is absent.
func dataFile(t *testing.T, rel string) string {
	t.Helper()
	dir := os.Getenv("GENREC_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data")
	}
	path := filepath.Join(dir, rel)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real data not available (%v); set GENREC_DATA to the data folder", err)
	}
	return path
}

func open(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestParseEventsRealData(t *testing.T) {
	cases := []struct {
		file                 string
		events, users, items int
	}{
		{"ml-100k/u.data", 100000, 943, 1682},
		{"amazon-beauty-s3rec/Beauty.txt", 198502, 22363, 12101},
		{"ml-latest-small/ratings.csv", 100836, 610, 9724},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := dataFile(t, c.file)
			format, err := transforms.DetectFormat(path)
			if err != nil {
				t.Fatal(err)
			}
			users, items := map[string]bool{}, map[string]bool{}
			var events, bad int
			_, err = transforms.ParseEvents(open(t, path), c.file, format, transforms.ParseOptions{},
				func(e transforms.Event) error { events++; users[e.User] = true; items[e.Item] = true; return nil },
				func(b transforms.BadLine) error {
					if bad++; bad <= 3 {
						t.Errorf("bad line: %s", b)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if events != c.events || len(users) != c.users || len(items) != c.items || bad != 0 {
				t.Errorf("got %d events, %d users, %d items, %d bad; want %d, %d, %d, 0",
					events, len(users), len(items), bad, c.events, c.users, c.items)
			}
		})
	}
}

func TestParseItemsRealData(t *testing.T) {
	cases := []struct {
		file  string
		items int
	}{
		{"ml-1m-metadata/movies.dat", 3883},
		{"ml-100k/u.item", 1682},
		{"ml-latest-small/movies.csv", 9742},
		{"amazon-beauty-s3rec/Beauty_item2attributes.json", 12101},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := dataFile(t, c.file)
			format, err := transforms.DetectItemFormat(path)
			if err != nil {
				t.Fatal(err)
			}
			var items, bad, nonASCII, withGenres, withYear int
			_, err = transforms.ParseItems(open(t, path), c.file, format,
				func(m transforms.ItemMeta) error {
					items++
					if !utf8.ValidString(m.Title) {
						t.Errorf("item %s: title %q is not valid UTF-8", m.Item, m.Title)
					}
					for _, r := range m.Title {
						if r >= utf8.RuneSelf {
							nonASCII++
							break
						}
					}
					if len(m.Genres) > 0 {
						withGenres++
					}
					if m.Year > 0 {
						withYear++
					}
					return nil
				},
				func(b transforms.BadLine) error {
					if bad++; bad <= 3 {
						t.Errorf("bad line: %s", b)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if items != c.items || bad != 0 {
				t.Errorf("got %d items, %d bad; want %d, 0", items, bad, c.items)
			}
			if withGenres == 0 {
				t.Error("no item has genres")
			}
			if format == transforms.ItemsML1M && nonASCII == 0 {
				t.Error("no title has a non-ASCII character; want the Latin-1 ones decoded")
			}
			t.Logf("%d items: %d with genres, %d with a year, %d with non-ASCII titles", items, withGenres, withYear, nonASCII)
		})
	}
}

func TestParseUsersRealData(t *testing.T) {
	cases := []struct {
		file  string
		users int
	}{
		{"ml-1m-metadata/users.dat", 6040},
		{"ml-100k/u.user", 943},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := dataFile(t, c.file)
			format, err := transforms.DetectUserFormat(path)
			if err != nil {
				t.Fatal(err)
			}
			var users, bad int
			_, err = transforms.ParseUsers(open(t, path), c.file, format,
				func(transforms.UserMeta) error { users++; return nil },
				func(b transforms.BadLine) error {
					if bad++; bad <= 3 {
						t.Errorf("bad line: %s", b)
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if users != c.users || bad != 0 {
				t.Errorf("got %d users, %d bad; want %d, 0", users, bad, c.users)
			}
		})
	}
}
