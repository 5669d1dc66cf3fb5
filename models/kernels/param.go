package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Param is one trainable tensor with its gradient and AdamW state.
//
// Value and Grad hold Rows()*Cols() elements, row-major. A Sparse param
// (an embedding table) keeps gradient only in the rows marked by Touch:
// ZeroGrad, ClipGradNorm, GradFinite and AdamWStep visit those rows and
// nothing else, so a step costs O(touched rows), not O(table). A compact
// table (NewTable) is Sparse and keeps only the touched rows' gradient in
// Grad, so it also holds no catalogue-sized gradient.
type Param[T Float] struct {
	Name   string
	Shape  []int // [rows, cols] for matrices and tables, [n] for vectors
	Value  []T
	Grad   []T  // Rows()*Cols() elements; a compact table's: the touched rows only (see NewTable)
	Sparse bool // row-sparse: only rows marked by Touch hold gradient; ZeroGrad and AdamW visit only those
	// Frozen params are constants that travel with the model (HLLM's
	// precomputed item text vectors): AdamW leaves them alone and they
	// hold no moments.
	Frozen bool
	M, V   []T // AdamW moments, allocated lazily by AdamWStep

	touched []bool  // touched[r]: row r is in rows; allocated by the first Touch
	rows    []int   // touched rows in first-touch order
	compact bool    // NewTable: Grad holds the touched rows only, in the order of rows
	slot    []int32 // compact: slot[r]-1 is row r's index in rows, 0 if untouched
}

// NewParam returns a param of the given shape with zero values and
// gradients. An empty shape or a negative dimension panics.
func NewParam[T Float](name string, shape ...int) *Param[T] {
	if len(shape) == 0 {
		panic(fmt.Sprintf("kernels: NewParam %q: empty shape", name))
	}
	n := 1
	for _, s := range shape {
		if s < 0 {
			panic(fmt.Sprintf("kernels: NewParam %q: negative dimension in %v", name, shape))
		}
		n *= s
	}
	return &Param[T]{Name: name, Shape: append([]int(nil), shape...), Value: make([]T, n), Grad: make([]T, n)}
}

// Rows is Shape[0].
func (p *Param[T]) Rows() int { return p.Shape[0] }

// Cols is the product of Shape[1:]: the row width, 1 for vectors.
func (p *Param[T]) Cols() int {
	c := 1
	for _, s := range p.Shape[1:] {
		c *= s
	}
	return c
}

// Touch marks row as holding gradient in a Sparse param; it does nothing for
// a dense one. A row out of [0, Rows()) panics. Touch is not safe for
// concurrent use: kernels that write gradient rows in parallel call it (or
// their touch callback) from one goroutine.
func (p *Param[T]) Touch(row int) {
	if !p.Sparse {
		return
	}
	if p.compact {
		p.touchCompact(row)
		return
	}
	if row < 0 || row >= p.Rows() {
		panic(fmt.Sprintf("kernels: Param %q: Touch(%d) out of [0, %d)", p.Name, row, p.Rows()))
	}
	if p.touched == nil {
		p.touched = make([]bool, p.Rows())
	}
	if !p.touched[row] {
		p.touched[row] = true
		p.rows = append(p.rows, row)
	}
}

// TouchedRows returns the rows marked by Touch since the last ZeroGrad, in
// first-touch order. The slice is the param's own; callers must not keep it
// across ZeroGrad or modify it.
func (p *Param[T]) TouchedRows() []int { return p.rows }

// ZeroGrad zeroes the gradient: all of it for a dense param; for a sparse one
// the touched rows, after which the touched set is empty.
func (p *Param[T]) ZeroGrad() {
	if !p.Sparse {
		clear(p.Grad)
		return
	}
	if p.compact {
		p.zeroCompact()
		return
	}
	c := p.Cols()
	for _, r := range p.rows {
		clear(p.Grad[r*c : (r+1)*c])
		p.touched[r] = false
	}
	p.rows = p.rows[:0]
}

// pmEachGradRow calls fn with each gradient row that holds gradient: the
// whole of Grad as one block for a dense param or a compact table, every
// touched row for a sparse one.
func pmEachGradRow[T Float](p *Param[T], fn func(lo, hi int)) {
	if !p.Sparse || p.compact {
		fn(0, len(p.Grad))
		return
	}
	c := p.Cols()
	for _, r := range p.rows {
		fn(r*c, (r+1)*c)
	}
}

// InitNormal fills x with draws from N(0, std²).
func InitNormal[T Float](x []T, std float64, rng *rand.Rand) {
	for i := range x {
		x[i] = T(rng.NormFloat64() * std)
	}
}

// InitXavierUniform fills x with draws from U(-a, a),
//
//	a = sqrt(6 / (fanIn + fanOut))
//
// (Glorot & Bengio 2010). fanIn + fanOut < 1 panics.
func InitXavierUniform[T Float](x []T, fanIn, fanOut int, rng *rand.Rand) {
	if fanIn+fanOut < 1 {
		panic("kernels: InitXavierUniform: fanIn + fanOut < 1")
	}
	InitUniform(x, math.Sqrt(6/float64(fanIn+fanOut)), rng)
}

// InitUniform fills x with draws from U(-a, a).
func InitUniform[T Float](x []T, a float64, rng *rand.Rand) {
	for i := range x {
		x[i] = T((rng.Float64()*2 - 1) * a)
	}
}

// pmGrain is the number of elements below which element-wise work on params
// stays on the calling goroutine.
const pmGrain = 64 << 10

// pmBlocks calls fn(lo, hi) on blocks that cover [0, n), each at least grain
// long: on the calling goroutine when n <= grain, else over Parallel.
func pmBlocks(n, grain int, fn func(lo, hi int)) {
	w := Workers()
	if n <= grain || w <= 1 {
		fn(0, n)
		return
	}
	size := max(grain, (n+4*w-1)/(4*w))
	nb := (n + size - 1) / size
	Parallel(nb, func(i int) { fn(i*size, min(n, (i+1)*size)) })
}
