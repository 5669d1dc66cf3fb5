package export

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/genrec/genrec/features"
)

// ErrNoCatalogue is returned by CatalogueID for a checkpoint without an item
// vocabulary (written before checkpoints carried one, or by a test): its
// catalogue can only be checked by size. Callers treat it as "unknown", not
// as a mismatch.
var ErrNoCatalogue = errors.New("checkpoint holds no item vocabulary")

// CatalogueID is the identity of an item catalogue: the hex SHA-256 over its
// tokens in id order, each followed by a NUL byte,
//
//	id = SHA-256(tok_1 0x00 tok_2 0x00 ... tok_n 0x00)
//
// Two catalogues of the same size but other items (or the same items under
// other ids) have different identities; the counts do not enter it.
func CatalogueID(tokens []string) string {
	h := sha256.New()
	for _, t := range tokens {
		h.Write([]byte(t))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CheckpointCatalogueID is the CatalogueID of the item vocabulary (item_id)
// stored in vocabJSON (a checkpoint's Vocab field); ErrNoCatalogue when it
// holds none.
func CheckpointCatalogueID(vocabJSON []byte, name string) (string, error) {
	if len(vocabJSON) == 0 {
		return "", ErrNoCatalogue
	}
	vs, err := features.ReadVocabsJSON(bytes.NewReader(vocabJSON), name)
	if err != nil {
		return "", fmt.Errorf("export: %s: corrupt item vocabulary: %w", name, err)
	}
	v := vs["item_id"]
	if v == nil {
		return "", ErrNoCatalogue
	}
	return CatalogueID(v.Tokens), nil
}

// SameCatalogue returns an error naming ckptPath and other when the
// checkpoint's vocabulary ckVocab and other's vocabulary (both features.Vocabs
// JSON) hold different item catalogues. Either holding no item vocabulary
// (ErrNoCatalogue) is not a mismatch: there is nothing to compare.
func SameCatalogue(ckVocab []byte, ckptPath string, otherVocab []byte, other string) error {
	a, err := CheckpointCatalogueID(ckVocab, ckptPath)
	if errors.Is(err, ErrNoCatalogue) {
		return nil
	} else if err != nil {
		return err
	}
	b, err := CheckpointCatalogueID(otherVocab, other)
	if errors.Is(err, ErrNoCatalogue) {
		return nil
	} else if err != nil {
		return err
	}
	if a != b {
		return fmt.Errorf("%s was trained on another item catalogue than %s (other items or other ids): use it on the data it was trained on", ckptPath, other)
	}
	return nil
}
