package rqvae

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/genrec/genrec/models/kernels"
)

// Config is the RQ-VAE's shape. Zero fields take the defaults of
// WithDefaults, the paper's: hidden [512, 256, 128], latent 32, 3 levels of
// 256 codes, β 0.25.
type Config struct {
	InputDim  int     `json:"input_dim" yaml:"input_dim"`   // D, the content embedding's length; required
	Hidden    []int   `json:"hidden" yaml:"hidden"`         // encoder widths; the decoder mirrors them
	LatentDim int     `json:"latent_dim" yaml:"latent_dim"` // the latent z's length
	Levels    int     `json:"levels" yaml:"levels"`         // L, codebooks
	Codes     int     `json:"codes" yaml:"codes"`           // codewords per codebook
	Beta      float64 `json:"beta" yaml:"beta"`             // commitment weight
}

// WithDefaults fills zero fields.
func (c Config) WithDefaults() Config {
	if c.Hidden == nil {
		c.Hidden = []int{512, 256, 128}
	}
	if c.LatentDim == 0 {
		c.LatentDim = 32
	}
	if c.Levels == 0 {
		c.Levels = 3
	}
	if c.Codes == 0 {
		c.Codes = 256
	}
	if c.Beta == 0 {
		c.Beta = 0.25
	}
	return c
}

// Validate reports the first bad field, naming it.
func (c Config) Validate() error {
	switch {
	case c.InputDim < 1:
		return fmt.Errorf("rqvae: input_dim must be positive, got %d", c.InputDim)
	case c.LatentDim < 1:
		return fmt.Errorf("rqvae: latent_dim must be positive, got %d", c.LatentDim)
	case c.Levels < 1:
		return fmt.Errorf("rqvae: levels must be positive, got %d", c.Levels)
	case c.Codes < 2:
		return fmt.Errorf("rqvae: codes must be at least 2, got %d", c.Codes)
	case c.Beta < 0:
		return fmt.Errorf("rqvae: beta must not be negative, got %v", c.Beta)
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("rqvae: hidden[%d] must be positive, got %d", i, h)
		}
	}
	return nil
}

// mlp is dense layers with ReLU between them (none after the last).
type mlp[T kernels.Float] struct {
	dims []int
	w, b []*kernels.Param[T]
	in   [][]T // in[i]: layer i's input, n x dims[i] (after ReLU)
	pre  [][]T // pre[i]: layer i's output before ReLU, n x dims[i+1]
}

func newMLP[T kernels.Float](name string, dims []int, rng *rand.Rand) mlp[T] {
	m := mlp[T]{dims: dims}
	for i := range len(dims) - 1 {
		w := kernels.NewParam[T](fmt.Sprintf("%s.%d.w", name, i), dims[i], dims[i+1])
		kernels.InitXavierUniform(w.Value, dims[i], dims[i+1], rng)
		m.w = append(m.w, w)
		m.b = append(m.b, kernels.NewParam[T](fmt.Sprintf("%s.%d.b", name, i), dims[i+1]))
	}
	return m
}

func (m *mlp[T]) params() []*kernels.Param[T] {
	var ps []*kernels.Param[T]
	for i := range m.w {
		ps = append(ps, m.w[i], m.b[i])
	}
	return ps
}

// forward returns the output (n x last dim); it keeps what backward needs.
func (m *mlp[T]) forward(x []T, n int) []T {
	nl := len(m.w)
	m.in, m.pre = make([][]T, nl), make([][]T, nl)
	h := x
	for i := range nl {
		m.in[i] = h
		y := make([]T, n*m.dims[i+1])
		kernels.LinearForward(h, m.w[i].Value, m.b[i].Value, y, n, m.dims[i], m.dims[i+1])
		m.pre[i] = y
		if i < nl-1 {
			a := make([]T, len(y))
			kernels.ReLUForward(y, a)
			h = a
		} else {
			h = y
		}
	}
	return h
}

// backward accumulates parameter gradients from dy and returns dx.
func (m *mlp[T]) backward(dy []T, n int) []T {
	for i := len(m.w) - 1; i >= 0; i-- {
		if i < len(m.w)-1 {
			d := make([]T, len(dy))
			kernels.ReLUBackward(m.pre[i], dy, d)
			dy = d
		}
		dx := make([]T, n*m.dims[i])
		kernels.LinearBackward(m.in[i], m.w[i].Value, dy, dx, m.w[i].Grad, m.b[i].Grad, n, m.dims[i], m.dims[i+1])
		dy = dx
	}
	return dy
}

// Model is an RQ-VAE. Forward and Backward are one training step's halves;
// Codes assigns tuples. Not safe for concurrent use.
type Model[T kernels.Float] struct {
	Config    Config
	enc, dec  mlp[T]
	Codebooks []*kernels.Param[T] // level l: Codes x LatentDim

	// the last Forward's state
	n     int
	x, z  []T
	res   [][]T     // res[l]: r_l, n x LatentDim
	codes [][]int32 // codes[l][i]: c_l of row i
	xhat  []T
	usage [][]int // usage[l][k]: rows assigned to code k since the last RestartDead

	frozen *frozenST // tests: fixed codes and straight-through offset
}

// frozenST fixes a Forward's codes, ẑ - z and the stop-gradient operands
// (r_l in the codebook term, e_l in the commitment term), so that finite
// differences see the surrogate whose gradient Backward computes.
type frozenST struct {
	codes [][]int32
	delta []float64
	res   [][]float64 // sg[r_l], n x d per level
	cw    [][]float64 // sg[e_{l,c_l}], n x d per level
}

// New returns a model of cfg (defaults applied) with Xavier-uniform weights
// from seed and zero codebooks (Fit initialises them by k-means). A bad
// cfg is an error.
func New[T kernels.Float](cfg Config, seed uint64) (*Model[T], error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7a9e))
	encDims := append(append([]int{cfg.InputDim}, cfg.Hidden...), cfg.LatentDim)
	decDims := make([]int, len(encDims))
	for i := range encDims {
		decDims[i] = encDims[len(encDims)-1-i]
	}
	m := &Model[T]{Config: cfg, enc: newMLP[T]("encoder", encDims, rng), dec: newMLP[T]("decoder", decDims, rng)}
	for l := range cfg.Levels {
		cb := kernels.NewParam[T](fmt.Sprintf("codebook.%d", l), cfg.Codes, cfg.LatentDim)
		kernels.InitNormal(cb.Value, 1/math.Sqrt(float64(cfg.LatentDim)), rng)
		m.Codebooks = append(m.Codebooks, cb)
	}
	m.resetUsage()
	return m, nil
}

// Params are the encoder's, the decoder's and the codebooks.
func (m *Model[T]) Params() []*kernels.Param[T] {
	return append(append(m.enc.params(), m.dec.params()...), m.Codebooks...)
}

func (m *Model[T]) resetUsage() {
	m.usage = make([][]int, m.Config.Levels)
	for l := range m.usage {
		m.usage[l] = make([]int, m.Config.Codes)
	}
}

// nearest returns argmin_k ||r - e_k||² over codebook cb (Codes x d).
func nearest[T kernels.Float](cb []T, codes, d int, r []T) int32 {
	best, bk := math.Inf(1), 0
	for k := range codes {
		e := cb[k*d : (k+1)*d]
		s := 0.0
		for j, v := range r {
			t := float64(v - e[j])
			s += t * t
		}
		if s < best {
			best, bk = s, k
		}
	}
	return int32(bk)
}

// quantise fills m.res and m.codes from z (n rows) and returns ẑ.
func (m *Model[T]) quantise(z []T, n int) []T {
	d, L := m.Config.LatentDim, m.Config.Levels
	m.res, m.codes = make([][]T, L), make([][]int32, L)
	r := append([]T(nil), z...)
	zq := make([]T, len(z))
	for l := range L {
		m.res[l] = append([]T(nil), r...)
		m.codes[l] = make([]int32, n)
		cb := m.Codebooks[l].Value
		kernels.Parallel(n, func(i int) {
			row := r[i*d : (i+1)*d]
			var c int32
			if m.frozen != nil {
				c = m.frozen.codes[l][i]
			} else {
				c = nearest(cb, m.Config.Codes, d, row)
			}
			m.codes[l][i] = c
			e := cb[int(c)*d : (int(c)+1)*d]
			for j := range row {
				row[j] -= e[j]
				zq[i*d+j] += e[j]
			}
		})
	}
	return zq
}

// Losses are a Forward's loss terms.
type Losses struct {
	Recon float64 // mean (x - x̂)²
	Quant float64 // Σ_l mean ((sg r_l - e)² + β (r_l - sg e)²)
}

// Total is Recon + Quant.
func (l Losses) Total() float64 { return l.Recon + l.Quant }

// Forward runs the model on x (n x InputDim, row-major) and returns the
// losses of the package doc; it keeps what Backward needs. A bad length
// panics.
func (m *Model[T]) Forward(x []T, n int) Losses {
	if len(x) != n*m.Config.InputDim {
		panic(fmt.Sprintf("rqvae: Forward: len(x) = %d, want %d x %d", len(x), n, m.Config.InputDim))
	}
	d := m.Config.LatentDim
	m.n, m.x = n, x
	m.z = m.enc.forward(x, n)
	zq := m.quantise(m.z, n)
	zst := make([]T, len(zq))
	for i := range zst {
		if m.frozen != nil {
			zst[i] = m.z[i] + T(m.frozen.delta[i])
		} else {
			zst[i] = m.z[i] + (zq[i] - m.z[i])
		}
	}
	m.xhat = m.dec.forward(zst, n)
	var ls Losses
	for i, v := range x {
		t := float64(m.xhat[i] - v)
		ls.Recon += t * t
	}
	ls.Recon /= float64(max(len(x), 1))
	for l := range m.Config.Levels {
		cb := m.Codebooks[l].Value
		s := 0.0
		for i := range n {
			c := int(m.codes[l][i])
			m.usage[l][c]++
			for j := range d {
				r, e := float64(m.res[l][i*d+j]), float64(cb[c*d+j])
				if f := m.frozen; f != nil {
					a, b := f.res[l][i*d+j]-e, r-f.cw[l][i*d+j]
					s += a*a + m.Config.Beta*b*b
					continue
				}
				s += (1 + m.Config.Beta) * (r - e) * (r - e)
			}
		}
		ls.Quant += s / float64(max(n*d, 1))
	}
	return ls
}

// Backward accumulates the gradient of the last Forward's Total into
// Params' Grad:
//
//	dx̂        = 2 (x̂ - x) / (n D)            decoder backward gives dẑ
//	dz       += dẑ                             (straight-through)
//	de_{l,c} += 2 (e_{l,c} - r_l) / (n d)      (codebook term)
//	dz       += 2 β (r_l - e_{l,c}) / (n d)    (commitment; r_l = z - Σ sg e)
func (m *Model[T]) Backward() {
	n, d, D := m.n, m.Config.LatentDim, m.Config.InputDim
	dxhat := make([]T, len(m.xhat))
	for i := range dxhat {
		dxhat[i] = T(2 * float64(m.xhat[i]-m.x[i]) / float64(n*D))
	}
	dz := m.dec.backward(dxhat, n)
	for l := range m.Config.Levels {
		cb, g := m.Codebooks[l].Value, m.Codebooks[l].Grad
		s := 2 / float64(n*d)
		for i := range n {
			c := int(m.codes[l][i])
			for j := range d {
				diff := float64(m.res[l][i*d+j] - cb[c*d+j])
				g[c*d+j] -= T(s * diff)
				dz[i*d+j] += T(s * m.Config.Beta * diff)
			}
		}
	}
	m.enc.backward(dz, n)
}

// Latent returns z = E(x) for x (n x InputDim).
func (m *Model[T]) Latent(x []T, n int) []T {
	enc := m.enc
	return enc.forward(x, n)
}

// Codes returns each row's tuple (n x Levels) for x (n x InputDim). It does
// not touch the training state.
func (m *Model[T]) Codes(x []T, n int) [][]int32 {
	d := m.Config.LatentDim
	z := m.Latent(x, n)
	out := make([][]int32, n)
	kernels.Parallel(n, func(i int) {
		r := append([]T(nil), z[i*d:(i+1)*d]...)
		t := make([]int32, m.Config.Levels)
		for l := range m.Config.Levels {
			cb := m.Codebooks[l].Value
			c := nearest(cb, m.Config.Codes, d, r)
			t[l] = c
			for j := range r {
				r[j] -= cb[int(c)*d+j]
			}
		}
		out[i] = t
	})
	return out
}
