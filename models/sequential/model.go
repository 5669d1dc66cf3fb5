package sequential

import (
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// Model is a next-item model that the trainer drives. Implementations are
// not safe for concurrent use: Forward keeps the activations Backward needs.
type Model interface {
	// Name is the model's short name ("hstu", "sasrec").
	Name() string
	// Dim is the width of user and item embeddings.
	Dim() int
	// MaxLen is the padded sequence length the model was built for.
	MaxLen() int
	// Params lists every trainable tensor, in a fixed order.
	Params() []*kernels.Param[float32]
	// ItemTable is the item-embedding table (catalogue x Dim, row 0 the
	// padding id), shared by the input and the retrieval head.
	ItemTable() *kernels.Param[float32]
	// Forward returns the L2-normalised user embedding at every position of
	// b (b.B*b.L rows of Dim; zero at padding). A non-nil rng means
	// training: dropout is on. The returned slice is owned by the model and
	// valid until the next Forward.
	Forward(b *Batch, rng *rand.Rand) []float32
	// Backward accumulates parameter gradients from dUser, the gradient of
	// the loss with respect to the last Forward's output (an ItemTower
	// carries its table's gradient further in BackwardItems).
	Backward(dUser []float32)
}
