package transforms_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/genrec/genrec/transforms"
)

func parseItems(t *testing.T, input, name string, f transforms.ItemFormat) ([]transforms.ItemMeta, []transforms.BadLine, int64) {
	t.Helper()
	var items []transforms.ItemMeta
	var bad []transforms.BadLine
	n, err := transforms.ParseItems(strings.NewReader(input), name, f,
		func(m transforms.ItemMeta) error { items = append(items, m); return nil },
		func(b transforms.BadLine) error { bad = append(bad, b); return nil })
	if err != nil {
		t.Fatalf("ParseItems(%s): %v", name, err)
	}
	return items, bad, n
}

// flags builds u.item's 19 genre flag fields with the given positions set.
func flags(set ...int) string {
	f := strings.Split(strings.Repeat("0", 19), "")
	for _, i := range set {
		f[i] = "1"
	}
	return strings.Join(f, "|")
}

func TestParseItems(t *testing.T) {
	cases := []struct {
		name   string
		format transforms.ItemFormat
		input  string
		lines  int64
		want   []transforms.ItemMeta
		bad    []wantBad
	}{{
		name:   "movies.dat",
		format: transforms.ItemsML1M,
		input: "1::Caf\xe9 Society (1999)::Comedy|Drama\n" + // Latin-1 é
			"2::Ratio: 2::1 (2001)::Documentary\r\n" + // "::" inside the title
			"\n" +
			"3::No Year::\n" +
			"4::Two Fields\n" +
			"::Nobody (1990)::Drama\n",
		lines: 6,
		want: []transforms.ItemMeta{
			{Item: "1", Title: "Café Society (1999)", Year: 1999, Genres: []string{"Comedy", "Drama"}},
			{Item: "2", Title: "Ratio: 2::1 (2001)", Year: 2001, Genres: []string{"Documentary"}},
			{Item: "3", Title: "No Year"},
		},
		bad: []wantBad{{5, "want 3 fields"}, {6, "empty item"}},
	}, {
		name:   "u.item",
		format: transforms.ItemsML100K,
		input: "1|Caf\xe9 (1995)|01-Jan-1995||http://example.com/1|" + flags(3, 5) + "\n" +
			"2|unknown||||" + flags(0) + "\n" +
			"3|Short|01-Jan-1995||http://example.com/3|0|1\n" +
			"4|Bad Flag (1996)|01-Jan-1996||http://example.com/4|" + strings.Replace(flags(), "0", "2", 1) + "\n",
		lines: 4,
		want: []transforms.ItemMeta{
			{Item: "1", Title: "Café (1995)", Year: 1995, Genres: []string{"Animation", "Comedy"}},
			{Item: "2", Title: "unknown", Genres: []string{"unknown"}},
		},
		bad: []wantBad{{3, "want 24 fields"}, {4, "genre flag 1"}},
	}, {
		name:   "movies.csv",
		format: transforms.ItemsMLCSV,
		input: "movieId,title,genres\r\n" +
			"1,Toy Town (1995),Adventure|Animation\r\n" +
			"2,\"Good, the Bad (1966) \",Western\r\n" +
			"3,Untitled,(no genres listed)\r\n" +
			"4,Café (2010),Drama\r\n" +
			"5,Only Two\r\n",
		lines: 6,
		want: []transforms.ItemMeta{
			{Item: "1", Title: "Toy Town (1995)", Year: 1995, Genres: []string{"Adventure", "Animation"}},
			{Item: "2", Title: "Good, the Bad (1966)", Year: 1966, Genres: []string{"Western"}},
			{Item: "3", Title: "Untitled"},
			{Item: "4", Title: "Café (2010)", Year: 2010, Genres: []string{"Drama"}},
		},
		bad: []wantBad{{6, "want 3 fields"}},
	}, {
		name:   "Beauty_item2attributes.json",
		format: transforms.ItemsS3RecAttrs,
		input:  `{"4": [1, 2, 3], "83": [], "7": "x", "9": ["a", 5]}`,
		lines:  4,
		want: []transforms.ItemMeta{
			{Item: "4", Genres: []string{"1", "2", "3"}},
			{Item: "83"},
			{Item: "9", Genres: []string{"a", "5"}},
		},
		bad: []wantBad{{3, "want an array"}},
	}, {
		name:   "truncated item2attributes.json",
		format: transforms.ItemsS3RecAttrs,
		input:  `{"4": [1, 2], "5": [3`,
		lines:  1,
		want:   []transforms.ItemMeta{{Item: "4", Genres: []string{"1", "2"}}},
		bad:    []wantBad{{2, "malformed JSON"}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			items, bad, n := parseItems(t, c.input, c.name, c.format)
			if !reflect.DeepEqual(items, c.want) {
				t.Errorf("items:\ngot  %+v\nwant %+v", items, c.want)
			}
			if n != c.lines {
				t.Errorf("lines: got %d, want %d", n, c.lines)
			}
			checkBad(t, c.name, bad, c.bad)
		})
	}
}

func TestParseUsers(t *testing.T) {
	cases := []struct {
		name   string
		format transforms.UserFormat
		input  string
		want   []transforms.UserMeta
		bad    []wantBad
	}{{
		name:   "users.dat",
		format: transforms.UsersML1M,
		input:  "1::F::1::10::48067\r\n\n2::M::56::16\n::M::25::15::55117\n3::M::x::15::55117\n",
		want:   []transforms.UserMeta{{User: "1", Gender: "F", Age: "1", Occupation: "10", Zip: "48067"}},
		bad:    []wantBad{{3, "want 5 fields"}, {4, "empty user"}, {5, "non-integer age"}},
	}, {
		name:   "u.user",
		format: transforms.UsersML100K,
		input:  "1|24|M|technician|85711\n2|53|F|other\n",
		want:   []transforms.UserMeta{{User: "1", Gender: "M", Age: "24", Occupation: "technician", Zip: "85711"}},
		bad:    []wantBad{{2, "want 5 fields"}},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var users []transforms.UserMeta
			var bad []transforms.BadLine
			_, err := transforms.ParseUsers(strings.NewReader(c.input), c.name, c.format,
				func(u transforms.UserMeta) error { users = append(users, u); return nil },
				func(b transforms.BadLine) error { bad = append(bad, b); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(users, c.want) {
				t.Errorf("users:\ngot  %+v\nwant %+v", users, c.want)
			}
			checkBad(t, c.name, bad, c.bad)
		})
	}
}

func TestParseMetaFailFast(t *testing.T) {
	stop := errors.New("stop")
	n, err := transforms.ParseItems(strings.NewReader("1::A::\n2\n3::C::\n"), "movies.dat", transforms.ItemsML1M,
		func(transforms.ItemMeta) error { return nil }, func(transforms.BadLine) error { return stop })
	if err != stop || n != 2 {
		t.Errorf("ParseItems: got (%d, %v), want (2, %v)", n, err, stop)
	}
	n, err = transforms.ParseUsers(strings.NewReader("1|24|M|x|1\n2|24|M|x|2\n"), "u.user", transforms.UsersML100K,
		func(transforms.UserMeta) error { return stop }, nil)
	if err != stop || n != 1 {
		t.Errorf("ParseUsers: got (%d, %v), want (1, %v)", n, err, stop)
	}
}

func TestParseMetaFormats(t *testing.T) {
	items := map[string]transforms.ItemFormat{
		"ml-1m/movies.dat": transforms.ItemsML1M, "u.item": transforms.ItemsML100K,
		"movies.csv": transforms.ItemsMLCSV, "data/Beauty_item2attributes.json": transforms.ItemsS3RecAttrs,
	}
	for path, want := range items {
		if got, err := transforms.DetectItemFormat(path); got != want || err != nil {
			t.Errorf("DetectItemFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
		if got, err := transforms.ParseItemFormat(string(want)); got != want || err != nil {
			t.Errorf("ParseItemFormat(%q) = %q, %v", want, got, err)
		}
	}
	users := map[string]transforms.UserFormat{"users.dat": transforms.UsersML1M, "ml-100k/u.user": transforms.UsersML100K}
	for path, want := range users {
		if got, err := transforms.DetectUserFormat(path); got != want || err != nil {
			t.Errorf("DetectUserFormat(%q) = %q, %v; want %q", path, got, err, want)
		}
		if got, err := transforms.ParseUserFormat(string(want)); got != want || err != nil {
			t.Errorf("ParseUserFormat(%q) = %q, %v", want, got, err)
		}
	}
	if _, err := transforms.DetectItemFormat("items.txt"); err == nil {
		t.Error("DetectItemFormat(items.txt): got nil error")
	}
	if _, err := transforms.ParseUserFormat("ml-1m"); err == nil || !strings.Contains(err.Error(), "ml-100k-users") {
		t.Errorf("ParseUserFormat(ml-1m): got %v, want an error listing the formats", err)
	}
}
