package itemtext

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/genrec/genrec/transforms"
)

// DefaultTemplate is the item prompt used when none is given.
const DefaultTemplate = "Title: {title}. Genres: {genres}. Tags: {tags}."

// Fields a template may name. "categories" is another name for "genres".
var fieldNames = []string{"title", "year", "genres", "categories", "tags", "description"}

// Template renders an item's fields into a prompt such as
//
//	Title: {title}. Genres: {genres}. Tags: {tags}.
//
// The template is a sequence of clauses, each ending after a ". " (or at
// the end of the template); a clause whose placeholders are all empty is
// dropped whole, so an item without tags gives "Title: Heat (1995).
// Genres: Action, Crime." and not a dangling "Tags: .". Text outside
// placeholders is kept as written; the result is trimmed of surrounding
// space. Lists (genres, tags) are joined with ", ".
type Template struct {
	format  string
	clauses [][]piece
}

// piece is literal text (field "") or a placeholder.
type piece struct {
	text, field string
}

// NewTemplate parses format. An unknown placeholder or an unclosed brace
// is an error naming it; an empty format means DefaultTemplate.
func NewTemplate(format string) (Template, error) {
	if format == "" {
		format = DefaultTemplate
	}
	t := Template{format: format}
	for _, c := range splitClauses(format) {
		var ps []piece
		for c != "" {
			i := strings.IndexByte(c, '{')
			if i < 0 {
				ps = append(ps, piece{text: c})
				break
			}
			j := strings.IndexByte(c[i:], '}')
			if j < 0 {
				return Template{}, fmt.Errorf("itemtext: template %q: unclosed '{'", format)
			}
			name := c[i+1 : i+j]
			if !known(name) {
				return Template{}, fmt.Errorf("itemtext: template %q: unknown field {%s} (known: %s)", format, name, strings.Join(fieldNames, ", "))
			}
			if i > 0 {
				ps = append(ps, piece{text: c[:i]})
			}
			ps = append(ps, piece{field: name})
			c = c[i+j+1:]
		}
		t.clauses = append(t.clauses, ps)
	}
	return t, nil
}

// MustTemplate is NewTemplate that panics on a bad format.
func MustTemplate(format string) Template {
	t, err := NewTemplate(format)
	if err != nil {
		panic(err.Error())
	}
	return t
}

// String returns the template's format.
func (t Template) String() string { return t.format }

func known(name string) bool {
	for _, f := range fieldNames {
		if f == name {
			return true
		}
	}
	return false
}

// splitClauses cuts s after every ". ", keeping the separator with the
// clause before it.
func splitClauses(s string) []string {
	var out []string
	for {
		i := strings.Index(s, ". ")
		if i < 0 {
			if s != "" {
				out = append(out, s)
			}
			return out
		}
		out = append(out, s[:i+2])
		s = s[i+2:]
	}
}

// Build renders the text of one item: its title, year, genres and the given
// tags. ItemMeta has no description, so a {description} clause is dropped
// (Render takes one).
func (t Template) Build(meta transforms.ItemMeta, tags []string) string {
	f := map[string]string{
		"title":  meta.Title,
		"genres": strings.Join(meta.Genres, ", "),
		"tags":   strings.Join(tags, ", "),
	}
	if meta.Year != 0 {
		f["year"] = strconv.Itoa(meta.Year)
	}
	return t.Render(f)
}

// Render renders the template with fields by name; missing or blank fields
// are empty. "categories" falls back to "genres" and the other way round.
func (t Template) Render(fields map[string]string) string {
	if t.clauses == nil {
		panic("itemtext: zero Template (use NewTemplate)")
	}
	get := func(name string) string {
		v := strings.TrimSpace(fields[name])
		if v == "" && name == "categories" {
			v = strings.TrimSpace(fields["genres"])
		} else if v == "" && name == "genres" {
			v = strings.TrimSpace(fields["categories"])
		}
		return v
	}
	var b strings.Builder
	for _, c := range t.clauses {
		var cb strings.Builder
		hasField, filled := false, false
		for _, p := range c {
			if p.field == "" {
				cb.WriteString(p.text)
				continue
			}
			hasField = true
			if v := get(p.field); v != "" {
				filled = true
				cb.WriteString(v)
			}
		}
		if hasField && !filled {
			continue
		}
		b.WriteString(cb.String())
	}
	return strings.TrimSpace(b.String())
}
