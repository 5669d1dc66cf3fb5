package features_test

import (
	"fmt"

	"github.com/genrec/genrec/features"
)

func ExampleBuildVocab() {
	counts := map[string]int64{"10": 4, "9": 4, "the": 4, "42": 7, "rare": 1}
	v := features.BuildVocab("item_id", counts, 2) // "rare" is seen once: dropped
	for id := int64(1); id <= int64(v.Len()); id++ {
		tok, _ := v.Token(id)
		fmt.Println(id, tok)
	}
	fmt.Println("rare ->", v.ID("rare"), "size", v.Size())
	// Output:
	// 1 42
	// 2 9
	// 3 10
	// 4 the
	// rare -> 0 size 5
}
