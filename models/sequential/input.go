package sequential

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// Input is the embedding layer shared by the sequential models (SASRec,
// arXiv 1808.09781; HSTU, arXiv 2402.17152):
//
//	x0[b,i] = Dropout(E[items[b,i]] * sqrt(d) + P[i])   for i < lens[b]
//
// over the batch's valid positions only, packed into R rows (the jagged
// layout): Packed[r] is the padded index b*L+i of packed row r. Padding
// positions have no row at all.
type Input[T kernels.Float] struct {
	Items *kernels.Param[T] // catalogue x d, a compact table (kernels.NewTable); row 0 is padding
	Pos   *kernels.Param[T] // L x d
	// ItemSide and UserSide, when not nil, are side features: each
	// position adds the mean embedding of its item's categories and of its
	// user's features (gender, age, ...):
	//
	//	x0[b,i] += mean_{c ∈ C(item)} ItemSide[c] + mean_{f ∈ F(user b)} UserSide[f]
	ItemSide, UserSide *Side[T]
	// Actions, when not nil, is an action embedding table: each position
	// adds the row of its Batch.Actions id (HSTU's actions; ranking):
	//
	//	x0[b,i] += Actions[actions[b,i]]
	Actions *kernels.Param[T]

	Packed []int
	acts   []int32
	ids    []int32
	users  []int64
	x0, x  []T
	dx0    []T
	mask   []bool
	p      float64
}

// NewInput creates the tables (the item table compact, see kernels.NewTable) with E ~ N(0, 0.02) (padding row zero) and
// P ~ N(0, 1/d).
func NewInput[T kernels.Float](items, maxLen, d int, rng *rand.Rand) *Input[T] {
	in := &Input[T]{Items: kernels.NewTable[T]("item_emb", items, d), Pos: kernels.NewParam[T]("pos_emb", maxLen, d)}
	kernels.InitNormal(in.Items.Value, 0.02, rng)
	clear(in.Items.Value[:d])
	kernels.InitNormal(in.Pos.Value, math.Sqrt(1/float64(d)), rng)
	return in
}

// Side is one side feature: an embedding table and, per key (an item or
// a user id), the table rows whose mean is added to the input.
type Side[T kernels.Float] struct {
	Table *kernels.Param[T]
	Lists [][]int32 // Lists[key]: rows of Table; empty or missing: nothing added
}

// NewSide creates a side feature called name of n embeddings (~ N(0, 0.02))
// of width d over lists. It panics on a row id out of range.
func NewSide[T kernels.Float](name string, n, d int, lists [][]int32, rng *rand.Rand) *Side[T] {
	for key, rows := range lists {
		for _, r := range rows {
			if r < 0 || int(r) >= n {
				panic(fmt.Sprintf("sequential: %s: key %d lists row %d, not in [0, %d)", name, key, r, n))
			}
		}
	}
	s := &Side[T]{Table: kernels.NewParam[T](name, n, d), Lists: lists}
	kernels.InitNormal(s.Table.Value, 0.02, rng)
	return s
}

func (s *Side[T]) list(key int64) []int32 {
	if s == nil || key < 0 || key >= int64(len(s.Lists)) {
		return nil
	}
	return s.Lists[key]
}

// AddMean adds key's mean embedding to row; a nil s or a key without rows
// adds nothing.
func (s *Side[T]) AddMean(key int64, row []T) {
	rows := s.list(key)
	if len(rows) == 0 {
		return
	}
	d, w := len(row), 1/T(len(rows))
	for _, r := range rows {
		kernels.Axpy(w, s.Table.Value[int(r)*d:(int(r)+1)*d], row)
	}
}

// backward accumulates the table's gradient from drow, the gradient of a
// row that key's mean was added to.
func (s *Side[T]) backward(key int64, drow []T) {
	rows := s.list(key)
	if len(rows) == 0 {
		return
	}
	d, w := len(drow), 1/T(len(rows))
	for _, r := range rows {
		kernels.Axpy(w, drow, s.Table.Grad[int(r)*d:(int(r)+1)*d])
	}
}

// Rows is the number of packed rows of the last Forward.
func (in *Input[T]) Rows() int { return len(in.Packed) }

// Forward packs b's valid positions and returns x0 (Rows() x d), dropout
// p applied when rng is non-nil. b.L must equal the position table's rows.
func (in *Input[T]) Forward(b *Batch, p float64, rng *rand.Rand) []T {
	d, l := in.Items.Cols(), in.Pos.Rows()
	if b.L != l {
		panic("sequential: batch length differs from the model's max_seq_len")
	}
	if rng == nil {
		p = 0
	}
	in.p = p
	in.Packed, in.ids = in.Packed[:0], in.ids[:0]
	in.users = b.Users
	for bi, n := range b.Lens {
		for i := range n {
			in.Packed = append(in.Packed, bi*l+i)
			in.ids = append(in.ids, b.Items[bi*l+i])
		}
	}
	r := len(in.Packed)
	in.x0 = Grow(in.x0, r*d)
	kernels.EmbeddingGather(in.Items.Value, d, in.ids, in.x0)
	sq := T(math.Sqrt(float64(d)))
	for j, pr := range in.Packed {
		pos := in.Pos.Value[(pr%l)*d : (pr%l+1)*d]
		row := in.x0[j*d : (j+1)*d]
		for c := range row {
			row[c] = row[c]*sq + pos[c]
		}
		in.ItemSide.AddMean(int64(in.ids[j]), row)
		if in.UserSide != nil {
			in.UserSide.AddMean(b.Users[pr/l], row)
		}
	}
	in.acts = in.acts[:0]
	if in.Actions != nil {
		if len(b.Actions) != b.B*l {
			panic("sequential: the model embeds actions but the batch has none")
		}
		for j, pr := range in.Packed {
			a := b.Actions[pr]
			kernels.AddTo(in.x0[j*d:(j+1)*d], in.Actions.Value[int(a)*d:(int(a)+1)*d])
			in.acts = append(in.acts, a)
		}
	}
	in.mask = Grow(in.mask, r*d)
	in.x = Grow(in.x, r*d)
	kernels.DropoutForward(in.x0, in.x, p, rng, in.mask)
	return in.x
}

// Backward accumulates the tables' gradients from dx (Rows() x d).
func (in *Input[T]) Backward(dx []T) {
	d, l := in.Items.Cols(), in.Pos.Rows()
	in.dx0 = Grow(in.dx0, len(dx))
	dx0 := in.dx0
	clear(dx0)
	kernels.DropoutBackward(in.mask, in.p, dx, dx0)
	kernels.EmbeddingScatter(in.Items, in.ids, dx0, T(math.Sqrt(float64(d))))
	if in.Actions != nil {
		kernels.EmbeddingScatter(in.Actions, in.acts, dx0, 1)
	}
	for j, pr := range in.Packed {
		kernels.AddTo(in.Pos.Grad[(pr%l)*d:(pr%l+1)*d], dx0[j*d:(j+1)*d])
		in.ItemSide.backward(int64(in.ids[j]), dx0[j*d:(j+1)*d])
		if in.UserSide != nil {
			in.UserSide.backward(in.users[pr/l], dx0[j*d:(j+1)*d])
		}
	}
}

// Output is the L2-normalising output layer shared by the sequential
// models: out = y / ||y|| per packed row, scattered back to the padded
// B*L x d layout the retrieval head reads.
type Output[T kernels.Float] struct {
	out, norms, padded, dy, dx []T
}

// Forward normalises y (len(packed) x d) and returns the padded output
// (b.B*b.L x d, zero at padding), owned by o.
func (o *Output[T]) Forward(b *Batch, packed []int, y []T, d int) []T {
	r := len(packed)
	o.out = Grow(o.out, r*d)
	o.norms = Grow(o.norms, r)
	kernels.L2NormalizeForward(y, o.out, o.norms, r, d, normEps)
	o.padded = Grow(o.padded, b.B*b.L*d)
	clear(o.padded)
	for j, pr := range packed {
		copy(o.padded[pr*d:(pr+1)*d], o.out[j*d:(j+1)*d])
	}
	return o.padded
}

// Backward returns the gradient with respect to y from dPadded, the
// gradient of the padded output (a buffer of o's, valid until the next call).
func (o *Output[T]) Backward(packed []int, dPadded []T, d int) []T {
	r := len(packed)
	if len(dPadded) != len(o.padded) {
		panic("sequential: output gradient has the wrong length")
	}
	o.dy, o.dx = Grow(o.dy, r*d), Grow(o.dx, r*d)
	dy, dx := o.dy, o.dx
	GatherRows(dy, dPadded, packed, d)
	clear(dx)
	kernels.L2NormalizeBackward(o.out, o.norms, dy, dx, r, d, normEps)
	return dx
}

// ScatterRows copies packed rows of width w into the padded buffer dst.
func ScatterRows[T any](dst, src []T, packed []int, w int) {
	for j, pr := range packed {
		copy(dst[pr*w:(pr+1)*w], src[j*w:(j+1)*w])
	}
}

// GatherRows copies the packed rows of width w out of the padded src.
func GatherRows[T any](dst, src []T, packed []int, w int) {
	for j, pr := range packed {
		copy(dst[j*w:(j+1)*w], src[pr*w:(pr+1)*w])
	}
}
