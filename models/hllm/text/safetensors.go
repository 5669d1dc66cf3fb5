package text

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
)

// stEntry is one tensor of a safetensors header.
type stEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
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
		f.entries[name] = e
	}
	return f, nil
}

// float32s returns tensor name (or "bert."+name) as float32s after
// checking its dtype is F32 and its shape is want.
func (f *stFile) float32s(name string, want []int) ([]float32, error) {
	e, ok := f.entries[name]
	if !ok {
		if e, ok = f.entries["bert."+name]; ok {
			name = "bert." + name
		}
	}
	if !ok {
		return nil, fmt.Errorf("text: %s: no tensor %q (nor %q)", f.path, name, "bert."+name)
	}
	if e.Dtype != "F32" {
		return nil, fmt.Errorf("text: %s: tensor %q: dtype %s, want F32 (convert the checkpoint to float32)", f.path, name, e.Dtype)
	}
	if !slices.Equal(e.Shape, want) {
		return nil, fmt.Errorf("text: %s: tensor %q: shape %v, want %v", f.path, name, e.Shape, want)
	}
	n := 1
	for _, s := range want {
		n *= s
	}
	b := f.data[e.DataOffsets[0]:e.DataOffsets[1]]
	if len(b) != 4*n {
		return nil, fmt.Errorf("text: %s: tensor %q: %d data bytes, want %d for shape %v", f.path, name, len(b), 4*n, want)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
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
