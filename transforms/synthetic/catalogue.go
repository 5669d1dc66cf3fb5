package synthetic

import (
	"sort"
	"strconv"
	"sync"

	"github.com/genrec/genrec/transforms"
)

// zipfScale is the weight of rank 1; rank r weighs ⌊zipfScale/r⌋.
const zipfScale = 1 << 32

// catalogue is the item side of a data set: categories, popularity and the
// planted successors. It depends only on Seed, Items and Categories, is
// read-only once built, and is shared between calls through a one-entry
// cache.
type catalogue struct {
	ids      []string  // ids[i] = "i{i+1}"
	category []int32   // 0-based category of item i
	members  [][]int32 // members[c]: the items of c, most popular first
	cum      [][]uint64
	succ     []int32  // planted successor of item i
	catCum   []uint64 // cumulative category popularity, for favourites
}

type catalogueKey struct {
	seed              uint64
	items, categories int
}

var cache struct {
	sync.Mutex
	key catalogueKey
	cat *catalogue
}

// catalogueFor returns the catalogue of a valid cfg.
func catalogueFor(cfg Config) *catalogue {
	key := catalogueKey{cfg.Seed, cfg.Items, cfg.Categories}
	cache.Lock()
	defer cache.Unlock()
	if cache.cat == nil || cache.key != key {
		cache.key, cache.cat = key, newCatalogue(key)
	}
	return cache.cat
}

func newCatalogue(k catalogueKey) *catalogue {
	src := newSource(k.seed, streamCatalogue, 0)
	c := &catalogue{
		ids:      make([]string, k.items),
		category: make([]int32, k.items),
		members:  make([][]int32, k.categories),
		cum:      make([][]uint64, k.categories),
		succ:     make([]int32, k.items),
		catCum:   zipfCum(k.categories),
	}
	order := make([]int32, k.items)
	for i := range order {
		order[i] = int32(i)
		c.ids[i] = "i" + strconv.Itoa(i+1)
	}
	src.shuffle(order)
	// Deal the shuffled items round-robin: position in the deal is the
	// popularity rank within the category.
	for pos, it := range order {
		cat := pos % k.categories
		c.category[it] = int32(cat)
		c.members[cat] = append(c.members[cat], it)
	}
	for cat, m := range c.members {
		c.cum[cat] = zipfCum(len(m))
		cycle := append([]int32(nil), m...)
		src.shuffle(cycle)
		for j, it := range cycle {
			c.succ[it] = cycle[(j+1)%len(cycle)]
		}
	}
	return c
}

// zipfCum returns the cumulative Zipf weights Σ_{r ≤ j+1} ⌊zipfScale/r⌋
// for j in [0, n).
func zipfCum(n int) []uint64 {
	cum := make([]uint64, n)
	var total uint64
	for r := range n {
		total += zipfScale / uint64(r+1)
		cum[r] = total
	}
	return cum
}

// pick returns the index j with cum[j-1] ≤ u < cum[j] for u uniform in
// [0, cum[len-1]): a draw proportional to the weights behind cum.
func pick(src *source, cum []uint64) int {
	u := src.uint64n(cum[len(cum)-1])
	return sort.Search(len(cum), func(j int) bool { return cum[j] > u })
}

// index returns the 0-based index of item id, or -1.
func (c *catalogue) index(id string) int {
	if len(id) < 2 || id[0] != 'i' || id[1] == '0' || id[1] == '+' {
		return -1
	}
	n, err := strconv.Atoi(id[1:])
	if err != nil || n < 1 || n > len(c.ids) {
		return -1
	}
	return n - 1
}

func categoryName(cat int) string { return "c" + strconv.Itoa(cat+1) }

// Items returns the side information of every item of cfg's data set, in
// id order: Item "i42", Title "Item 42 (category 7)", Genres ["c7"],
// Year 0. It panics if cfg is invalid.
func Items(cfg Config) []transforms.ItemMeta {
	mustValid(cfg)
	c := catalogueFor(cfg)
	out := make([]transforms.ItemMeta, len(c.ids))
	for i, id := range c.ids {
		cat := int(c.category[i])
		out[i] = transforms.ItemMeta{
			Item:   id,
			Title:  "Item " + strconv.Itoa(i+1) + " (category " + strconv.Itoa(cat+1) + ")",
			Genres: []string{categoryName(cat)},
		}
	}
	return out
}

// Successor returns the planted successor succ(item) of cfg's data set, an
// item of the same category, or "" when item is not one of its ids. It
// panics if cfg is invalid. Calls with the same Seed, Items and Categories
// share one cached catalogue, so it is cheap to call per event.
func Successor(cfg Config, item string) string {
	mustValid(cfg)
	c := catalogueFor(cfg)
	i := c.index(item)
	if i < 0 {
		return ""
	}
	return c.ids[c.succ[i]]
}

func mustValid(cfg Config) {
	if err := cfg.Validate(); err != nil {
		panic(err) // Validate's messages carry the "synthetic:" prefix
	}
}
