package export_test

import (
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
