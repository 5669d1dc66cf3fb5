package text_test

import (
	"fmt"

	"github.com/genrec/genrec/models/hllm/text"
)

func ExampleTokenizer_Encode() {
	vocab := text.NewVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "cafe", "deja", "-", "vu", "un", "##aff", "##able"})
	tok := text.Tokenizer{Vocab: vocab, Lower: true, MaxLen: 10}
	fmt.Println(tok.Tokenize("Café Déjà-vu, unaffable!"))
	ids, mask := tok.Encode("Café Déjà-vu")
	fmt.Println(ids, mask)
	// Output:
	// [cafe deja - vu [UNK] un ##aff ##able [UNK]]
	// [2 4 5 6 7 3 0 0 0 0] [1 1 1 1 1 1 0 0 0 0]
}
