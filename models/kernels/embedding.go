package kernels

import "fmt"

// EmbeddingGather copies rows of table (rows x d) into out (len(ids) x d):
//
//	out[r] = table[ids[r]]   for ids[r] >= 0
//	out[r] = 0               for ids[r] < 0
//
// Empty ids do nothing. d < 1, len(table) not a multiple of d, len(out) !=
// len(ids)*d or an id >= the table's rows panic.
func EmbeddingGather[T Float](table []T, d int, ids []int32, out []T) {
	rows := pmTableRows("EmbeddingGather", len(table), d)
	if len(out) != len(ids)*d {
		panic(fmt.Sprintf("kernels: EmbeddingGather: len(out) = %d, want %d", len(out), len(ids)*d))
	}
	for _, id := range ids {
		if int(id) >= rows {
			panic(fmt.Sprintf("kernels: EmbeddingGather: id %d out of [0, %d)", id, rows))
		}
	}
	pmBlocks(len(ids), max(1, pmGrain/d), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := out[r*d : (r+1)*d]
			if id := int(ids[r]); id >= 0 {
				copy(o, table[id*d:(id+1)*d])
			} else {
				clear(o)
			}
		}
	})
}

// EmbeddingScatter is the backward of EmbeddingGather into p (rows x d):
//
//	p.GradRow(ids[r]) += scale * dOut[r]   for ids[r] >= 0 (which touches the row)
//
// Repeated ids sum, in the order of ids. ids < 0 are skipped. len(dOut) !=
// len(ids)*p.Cols() or an id >= p.Rows() panics. It runs on the calling
// goroutine (Touch is not safe for concurrent use).
func EmbeddingScatter[T Float](p *Param[T], ids []int32, dOut []T, scale T) {
	d := p.Cols()
	if len(dOut) != len(ids)*d {
		panic(fmt.Sprintf("kernels: EmbeddingScatter: len(dOut) = %d, want %d", len(dOut), len(ids)*d))
	}
	rows := p.Rows()
	for r, id := range ids {
		if id < 0 {
			continue
		}
		if int(id) >= rows {
			panic(fmt.Sprintf("kernels: EmbeddingScatter: id %d out of [0, %d) of %q", id, rows, p.Name))
		}
		Axpy(scale, dOut[r*d:(r+1)*d], p.GradRow(int(id)))
	}
}

// pmTableRows returns the number of rows of a table of n elements and width
// d, panicking (with fn in the message) when d < 1 or d does not divide n.
func pmTableRows(fn string, n, d int) int {
	if d < 1 {
		panic(fmt.Sprintf("kernels: %s: d = %d < 1", fn, d))
	}
	if n%d != 0 {
		panic(fmt.Sprintf("kernels: %s: table length %d is not a multiple of d = %d", fn, n, d))
	}
	return n / d
}
