package kernels

import (
	"fmt"
	"math"
	"slices"
)

// NewTable returns an embedding table of rows x cols whose gradient is
// compact: it holds only the rows touched since the last ZeroGrad,
//
//	Grad[i*cols : (i+1)*cols] = ∂loss/∂Value[TouchedRows()[i]]    i < len(TouchedRows())
//
// so len(Grad) = len(TouchedRows())*cols, and a training step costs
// O(touched rows · cols) whatever the catalogue: ZeroGrad, ClipGradNorm and
// GradFinite visit Grad as one block, AdamWStep updates the touched rows
// (lazily, see AdamW). Memory per row is its value and, once AdamWStep has
// run, its two moments, plus a 4-byte slot index. Kernels write a row's
// gradient through GradRow; code that needs the catalogue-sized gradient
// (finite-difference checks, the gorgonia engine) reads DenseGrad. Values
// are zero; negative dimensions panic.
func NewTable[T Float](name string, rows, cols int) *Param[T] {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("kernels: NewTable %q: negative dimension in [%d %d]", name, rows, cols))
	}
	return &Param[T]{Name: name, Shape: []int{rows, cols}, Value: make([]T, rows*cols), Sparse: true, compact: true}
}

// Compact reports whether p is a table made by NewTable, whose Grad holds
// only the touched rows.
func (p *Param[T]) Compact() bool { return p.compact }

// GradRow touches row (see Touch) and returns its gradient, Cols() values
// to accumulate into: a slice of Grad. For a compact table the slice is
// valid until the next Touch, GradRow or ZeroGrad (a new row may move
// Grad). A row out of [0, Rows()) panics. Not safe for concurrent use.
func (p *Param[T]) GradRow(row int) []T {
	c := p.Cols()
	if !p.compact {
		if row < 0 || row >= p.Rows() {
			panic(fmt.Sprintf("kernels: Param %q: GradRow(%d) out of [0, %d)", p.Name, row, p.Rows()))
		}
		p.Touch(row)
		return p.Grad[row*c : (row+1)*c]
	}
	i := p.touchCompact(row)
	return p.Grad[i*c : (i+1)*c]
}

// touchCompact returns row's index in the compact gradient, appending a
// zero row for a row not touched since the last ZeroGrad.
func (p *Param[T]) touchCompact(row int) int {
	if row < 0 || row >= p.Rows() {
		panic(fmt.Sprintf("kernels: Param %q: Touch(%d) out of [0, %d)", p.Name, row, p.Rows()))
	}
	if p.slot == nil {
		p.slot = make([]int32, p.Rows())
	}
	if s := p.slot[row]; s > 0 {
		return int(s) - 1
	}
	if len(p.rows) >= math.MaxInt32 {
		panic(fmt.Sprintf("kernels: Param %q: more than 2^31-1 touched rows", p.Name))
	}
	i := len(p.rows)
	p.rows = append(p.rows, row)
	p.slot[row] = int32(i + 1)
	c := p.Cols()
	n := len(p.Grad)
	p.Grad = slices.Grow(p.Grad, c)[:n+c]
	clear(p.Grad[n:])
	return i
}

// zeroCompact empties a compact table's gradient and touched set.
func (p *Param[T]) zeroCompact() {
	for _, r := range p.rows {
		p.slot[r] = 0
	}
	p.rows = p.rows[:0]
	p.Grad = p.Grad[:0]
}

// DenseGrad returns the gradient as Rows()*Cols() values, row-major: Grad
// itself for a param that is not a compact table; for a compact one a new
// slice, zero outside the touched rows. It is O(Rows()) and meant for
// checks and reference engines, not for training steps.
func (p *Param[T]) DenseGrad() []T {
	if !p.compact {
		return p.Grad
	}
	c := p.Cols()
	out := make([]T, len(p.Value))
	for i, r := range p.rows {
		copy(out[r*c:(r+1)*c], p.Grad[i*c:(i+1)*c])
	}
	return out
}

// adamwTable is AdamWStep's update of a compact table: the update of
// AdamW on every touched row r, with g its compact gradient row. ic1 and
// isc2 are 1/(1-b1^t) and 1/sqrt(1-b2^t). The arithmetic is AdamWStep's,
// so a compact table and a Sparse param fed the same rows step to the same
// bits.
func adamwTable[T Float](o *AdamW, p *Param[T], ic1, isc2 float64) {
	n, c := len(p.Value), p.Cols()
	if len(p.Grad) != len(p.rows)*c {
		panic(fmt.Sprintf("kernels: AdamWStep: %q: compact len(Grad) = %d, want %d touched rows x %d", p.Name, len(p.Grad), len(p.rows), c))
	}
	if p.M == nil && p.V == nil {
		p.M, p.V = make([]T, n), make([]T, n)
	}
	if len(p.M) != n || len(p.V) != n {
		panic(fmt.Sprintf("kernels: AdamWStep: %q: len(M), len(V) = %d, %d, len(Value) = %d", p.Name, len(p.M), len(p.V), n))
	}
	b1, b2, lr, eps, wd := o.Beta1, o.Beta2, o.LR, o.Eps, o.WeightDecay
	rows := p.rows
	pmBlocks(len(rows), max(1, pmGrain/max(c, 1)), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			r := rows[i]
			w, g, m, v := p.Value[r*c:(r+1)*c], p.Grad[i*c:(i+1)*c], p.M[r*c:(r+1)*c], p.V[r*c:(r+1)*c]
			for j := range w {
				gj := float64(g[j])
				mj := b1*float64(m[j]) + (1-b1)*gj
				vj := b2*float64(v[j]) + (1-b2)*gj*gj
				m[j], v[j] = T(mj), T(vj)
				wj := float64(w[j])
				w[j] = T(wj - lr*(mj*ic1/(math.Sqrt(vj)*isc2+eps)+wd*wj))
			}
		}
	})
}
