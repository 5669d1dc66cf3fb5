package export_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/genrec/genrec/export"
)

// FuzzDecodeCheckpoint: any bytes give a checkpoint or an error naming the
// file, never a panic, and a decoded checkpoint re-encodes and decodes.
// Seeds: a valid version 2 file and its prefixes (testdata/fuzz holds any
// crashers found).
func FuzzDecodeCheckpoint(f *testing.F) {
	c := &export.Checkpoint{Model: "hstu", ModelConfig: []byte(`{}`),
		Params: []export.Tensor{{Name: "w", Shape: []int{2}, Value: []float32{1, 2}, M: []float32{0, 0}, V: []float32{1, 1}}}}
	data, err := c.Encode()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("genrec-checkpoint\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := export.DecodeCheckpointBytes(b, "f.ckpt")
		if err != nil {
			return
		}
		again, err := c.Encode()
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if _, err := export.DecodeCheckpointBytes(again, "f.ckpt"); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

// FuzzDecodeCheckpointSections fuzzes what the checksums guard: the fuzzed
// header and parameter payloads are framed with correct lengths and
// CRC-32Cs, so the gob decoding and the shape checks behind them see
// arbitrary bytes. Any result is a checkpoint whose every parameter holds
// exactly its shape's values, or an error naming the file; never a panic.
func FuzzDecodeCheckpointSections(f *testing.F) {
	c := &export.Checkpoint{Model: "hstu", ModelConfig: []byte(`{}`),
		Params: []export.Tensor{{Name: "w", Shape: []int{2}, Value: []float32{1, 2}, M: []float32{0, 0}, V: []float32{1, 1}}}}
	data, err := c.Encode()
	if err != nil {
		f.Fatal(err)
	}
	magic := data[:bytes.IndexByte(data, '\n')+1]
	sections := splitSections(f, data[len(magic):])
	if len(sections) != 2 {
		f.Fatalf("a one-parameter checkpoint has %d sections, want 2", len(sections))
	}
	f.Add(sections[0], sections[1])
	f.Add(sections[0], sections[1][:len(sections[1])/2])
	f.Add(sections[0][:len(sections[0])-3], sections[1])
	f.Fuzz(func(t *testing.T, header, param []byte) {
		b := bytes.Clone(magic)
		for _, p := range [][]byte{header, param} {
			b = binary.LittleEndian.AppendUint64(b, uint64(len(p)))
			b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(p, crc32.MakeTable(crc32.Castagnoli)))
			b = append(b, p...)
		}
		c, err := export.DecodeCheckpointBytes(b, "f.ckpt")
		if err != nil {
			if !strings.Contains(err.Error(), "f.ckpt") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range c.Params {
			n := 1
			for _, d := range p.Shape {
				n *= d
			}
			if len(p.Shape) > 0 && n != len(p.Value) {
				t.Fatalf("parameter %q: shape %v but %d values", p.Name, p.Shape, len(p.Value))
			}
		}
	})
}

// splitSections returns the payloads of a version 2 body (after the magic
// line): length uint64 | CRC-32C uint32 | payload, repeated.
func splitSections(f *testing.F, body []byte) [][]byte {
	var out [][]byte
	for len(body) > 0 {
		if len(body) < 12 {
			f.Fatalf("%d trailing bytes", len(body))
		}
		n := binary.LittleEndian.Uint64(body)
		out = append(out, body[12:12+n])
		body = body[12+n:]
	}
	return out
}
