package onnx

import (
	"fmt"
	"math"
	"slices"
)

// Quantization says how weights are stored in an exported file.
type Quantization string

const (
	// None keeps every weight in float32.
	None Quantization = ""
	// Int8 stores the embedding tables and the linear weights as int8 with
	// one float scale per row (tables) or per output column (linear
	// weights), symmetric (zero point 0):
	//
	//	w ≈ scale * q,   scale = max|w| / 127,   q = round(w / scale) in [-127, 127]
	//
	// and computes the products with MatMulInteger on activations quantised
	// per tensor by DynamicQuantizeLinear (uint8, asymmetric). The file is
	// about 4x smaller; the scores move by about 1% of their range (measured
	// in the package tests and reported by genrec export).
	Int8 Quantization = "int8"
)

// ParseQuantization accepts "", "none", "fp32" and "int8".
func ParseQuantization(s string) (Quantization, error) {
	switch s {
	case "", "none", "fp32", "float32":
		return None, nil
	case "int8":
		return Int8, nil
	}
	return None, fmt.Errorf("onnx: unknown quantization %q (want none or int8)", s)
}

// quantizeRows quantises a rows x cols matrix per row (axis 0) or per
// column (axis 1) and returns the int8 values and the scales.
func quantizeRows(w []float32, rows, cols, axis int) ([]int8, []float32) {
	n := rows
	if axis == 1 {
		n = cols
	}
	scales := make([]float32, n)
	for r := range rows {
		for c := range cols {
			k := r
			if axis == 1 {
				k = c
			}
			scales[k] = max(scales[k], float32(math.Abs(float64(w[r*cols+c]))))
		}
	}
	for k, m := range scales {
		scales[k] = m / 127
		if m == 0 {
			scales[k] = 1 // an all-zero row or column (the padding item)
		}
	}
	q := make([]int8, len(w))
	for r := range rows {
		for c := range cols {
			k := r
			if axis == 1 {
				k = c
			}
			v := math.Round(float64(w[r*cols+c] / scales[k]))
			q[r*cols+c] = int8(min(max(v, -127), 127))
		}
	}
	return q, scales
}

// table is an embedding table in the graph, float or int8 with per-row
// scales.
type table struct {
	name, scales string // scales is empty for a float table
	rows, d      int
}

// addTable stores a rows x d table, quantised per row under Int8.
func (g *graph) addTable(name string, v []float32, rows, d int, q Quantization) table {
	if q == Int8 {
		qv, s := quantizeRows(v, rows, d, 0)
		return table{
			name:   g.initInt8(name+"_q", []int64{int64(rows), int64(d)}, qv),
			scales: g.initFloats(name+"_scale", []int64{int64(rows)}, s),
			rows:   rows, d: d,
		}
	}
	return table{name: g.initFloats(name, []int64{int64(rows), int64(d)}, v), rows: rows, d: d}
}

// lookup gathers the rows ids (any shape) of t as float: shape ids x d.
func (g *graph) lookup(t table, ids string) string {
	rows := g.gather(t.name, ids)
	if t.scales == "" {
		return rows
	}
	s := g.unsqueeze(g.gather(t.scales, ids), -1)
	return g.mul(g.cast(rows, tFloat), s)
}

// linear returns x W (+ b): x is [..., k], W is k x n (row-major, as the
// models store it), b has n values or is nil. Under Int8, W is quantised per
// output column and the product runs on MatMulInteger.
func (g *graph) linear(x, name string, w []float32, k, n int, b []float32, q Quantization) string {
	var y string
	if q == Int8 {
		wq, s := quantizeRows(w, k, n, 1)
		wName := g.initInt8(name+"_q", []int64{int64(k), int64(n)}, wq)
		sName := g.initFloats(name+"_scale", []int64{int64(n)}, s)
		y = g.matmulInt8(x, wName, sName)
	} else {
		y = g.matmul(x, g.initFloats(name, []int64{int64(k), int64(n)}, w))
	}
	if b != nil {
		y = g.add(y, g.initFloats(name+"_bias", []int64{int64(n)}, b))
	}
	return y
}

// matmulInt8 is x W for float x and int8 W (zero point 0) with per-column
// scales wScale:
//
//	xq, xs, xz = DynamicQuantizeLinear(x)
//	y = float(MatMulInteger(xq, W, xz)) * xs * wScale
func (g *graph) matmulInt8(x, w, wScale string) string {
	q := g.opN("DynamicQuantizeLinear", 3, []string{x})
	prod := g.op("MatMulInteger", []string{q[0], w, q[2]})
	return g.mul(g.mul(g.cast(prod, tFloat), q[1]), wScale)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
