package synthetic_test

import (
	"fmt"
	"os"

	"github.com/genrec/genrec/transforms/synthetic"
)

// The output is a golden file in miniature: it must not change across
// machines or Go versions.
func ExampleWriteInteractionsCSV() {
	cfg := synthetic.DefaultConfig()
	cfg.Users, cfg.Items, cfg.Categories = 2, 12, 3
	cfg.MeanLength, cfg.MaxLength = 4, 6
	n, err := synthetic.WriteInteractionsCSV(os.Stdout, cfg)
	fmt.Println(n, err)
	fmt.Println(synthetic.Successor(cfg, "i1"))
	// Output:
	// user,item,timestamp,rating
	// u1,i11,1582823736,5
	// u1,i7,1582825299,5
	// u1,i11,1582866622,3
	// u2,i8,1589169403,4
	// u2,i3,1589210452,2
	// u2,i9,1589243067,5
	// u2,i10,1589281097,3
	// u2,i8,1589320129,3
	// 8 <nil>
	// i4
}
