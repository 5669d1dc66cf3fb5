package text

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
	raw         []byte   // the tensor's bytes, set by readSafetensors
}

// stFile is a safetensors file read whole: header entries and the data
// section (offsets in entries are relative to it).
type stFile struct {
	path    string
	entries map[string]stEntry
	data    []byte
}

// readSafetensors reads a safetensors file: an 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets}} (plus an
// optional "__metadata__"), then the raw little-endian tensor data.
func readSafetensors(path string) (*stFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("text: weights: %w", err)
	}
	return parseSafetensors(raw, path)
}

// parseSafetensors parses the bytes of a safetensors file; path is used in
// errors. A tensor whose shape has a negative dimension, or whose byte
// length is not its element count times the size of its dtype (F32, BF16,
// F16; other dtypes are only checked when read), is an error naming it.
func parseSafetensors(raw []byte, path string) (*stFile, error) {
	if len(raw) < 8 {
		return nil, fmt.Errorf("text: %s: %d bytes, too short for a safetensors header", path, len(raw))
	}
	n := binary.LittleEndian.Uint64(raw[:8])
	if n > uint64(len(raw)-8) {
		return nil, fmt.Errorf("text: %s: header length %d past the end of the file (%d bytes)", path, n, len(raw))
	}
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(raw[8:8+n], &hdr); err != nil {
		return nil, fmt.Errorf("text: %s: header: %w", path, err)
	}
	f := &stFile{path: path, entries: make(map[string]stEntry, len(hdr)), data: raw[8+n:]}
	for name, msg := range hdr {
		if name == "__metadata__" {
			continue
		}
		var e stEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("text: %s: tensor %q: %w", path, name, err)
		}
		if e.DataOffsets[0] < 0 || e.DataOffsets[1] < e.DataOffsets[0] || e.DataOffsets[1] > int64(len(f.data)) {
			return nil, fmt.Errorf("text: %s: tensor %q: data_offsets %v outside the %d data bytes", path, name, e.DataOffsets, len(f.data))
		}
		e.raw = f.data[e.DataOffsets[0]:e.DataOffsets[1]]
		if size := dtypeSize[e.Dtype]; size > 0 {
			n, ok := elements(e.Shape)
			if !ok || n > len(e.raw)/size || n*size != len(e.raw) {
				return nil, fmt.Errorf("text: %s: tensor %q: shape %v of %s does not fit its %d data bytes", path, name, e.Shape, e.Dtype, len(e.raw))
			}
		}
		f.entries[name] = e
	}
	return f, nil
}

// dtypeSize is the byte size of the dtypes float32s reads.
var dtypeSize = map[string]int{"F32": 4, "BF16": 2, "F16": 2}

// elements returns the product of shape, false when a dimension is
// negative or the product overflows an int.
func elements(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt/d) {
			return 0, false
		}
		n *= d
	}
	return n, true
}

// readWeights reads a HuggingFace folder's weights: model.safetensors, or
// the shards that model.safetensors.index.json's weight_map names, merged
// into one stFile (path: the index) whose entries keep their own bytes.
func readWeights(dir string) (*stFile, error) {
	idxPath := filepath.Join(dir, "model.safetensors.index.json")
	raw, err := os.ReadFile(idxPath)
	if errors.Is(err, fs.ErrNotExist) {
		return readSafetensors(filepath.Join(dir, "model.safetensors"))
	}
	if err != nil {
		return nil, fmt.Errorf("text: weights: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("text: %s: %w", idxPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("text: %s: empty weight_map", idxPath)
	}
	shards := map[string]*stFile{}
	out := &stFile{path: idxPath, entries: map[string]stEntry{}}
	for name, shard := range idx.WeightMap {
		if shard != filepath.Base(shard) {
			return nil, fmt.Errorf("text: %s: tensor %q: shard %q is not a file name in the folder", idxPath, name, shard)
		}
		f, ok := shards[shard]
		if !ok {
			if f, err = readSafetensors(filepath.Join(dir, shard)); err != nil {
				return nil, err
			}
			shards[shard] = f
		}
		e, ok := f.entries[name]
		if !ok {
			return nil, fmt.Errorf("text: %s: tensor %q: not in shard %s", idxPath, name, f.path)
		}
		out.entries[name] = e
	}
	return out, nil
}

// has reports whether tensor name (or prefix+name) is present.
func (f *stFile) has(name, prefix string) bool {
	_, ok := f.entries[name]
	_, okp := f.entries[prefix+name]
	return ok || okp
}

// float32s returns tensor name (or "bert."+name, or "model."+name) as
// float32s after checking its shape is want. F32 is read as is; BF16
// (the top 16 bits of a float32) and F16 (IEEE half) are widened exactly.
func (f *stFile) float32s(name string, want []int) ([]float32, error) {
	e, ok := f.entries[name]
	for _, p := range []string{"bert.", "model."} {
		if !ok {
			if e, ok = f.entries[p+name]; ok {
				name = p + name
			}
		}
	}
	if !ok {
		return nil, fmt.Errorf("text: %s: no tensor %q (nor with a bert. or model. prefix)", f.path, name)
	}
	size := dtypeSize[e.Dtype]
	if size == 0 {
		return nil, fmt.Errorf("text: %s: tensor %q: dtype %s, want F32, BF16 or F16", f.path, name, e.Dtype)
	}
	if !slices.Equal(e.Shape, want) {
		return nil, fmt.Errorf("text: %s: tensor %q: shape %v, want %v", f.path, name, e.Shape, want)
	}
	n := 1
	for _, s := range want {
		n *= s
	}
	b := e.raw
	if len(b) != size*n {
		return nil, fmt.Errorf("text: %s: tensor %q: %d data bytes, want %d for %s shape %v", f.path, name, len(b), size*n, e.Dtype, want)
	}
	out := make([]float32, n)
	switch e.Dtype {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F16":
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return out, nil
}

// halfToFloat32 widens an IEEE 754 binary16 value exactly (subnormals,
// infinities and NaN included).
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: man * 2^-24
		v := float32(man) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// stTensor is a float32 tensor to write.
type stTensor struct {
	Shape []int
	Data  []float32
}

// writeSafetensors writes float32 tensors in the safetensors format,
// names sorted, data in that order.
func writeSafetensors(path string, ts map[string]stTensor) error {
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	hdr := make(map[string]stEntry, len(ts))
	var off int64
	for _, n := range names {
		t := ts[n]
		size := int64(4 * len(t.Data))
		hdr[n] = stEntry{Dtype: "F32", Shape: t.Shape, DataOffsets: [2]int64{off, off + size}}
		off += size
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	buf := make([]byte, 8, 8+len(h)+int(off))
	binary.LittleEndian.PutUint64(buf, uint64(len(h)))
	buf = append(buf, h...)
	for _, n := range names {
		for _, v := range ts[n].Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
		}
	}
	return os.WriteFile(path, buf, 0o644)
}
