package text

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// safetensorsBytes returns a safetensors file holding ts, as writeSafetensors writes it.
func safetensorsBytes(tb testing.TB, ts map[string]stTensor) []byte {
	path := filepath.Join(tb.TempDir(), "model.safetensors")
	if err := writeSafetensors(path, ts); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzReadSafetensors: any bytes give an stFile or an error naming the
// file, never a panic; every tensor of a parsed file of a readable dtype
// reads back as float32s of its own shape. Seeds: testdata/fuzz/FuzzReadSafetensors
// and a valid two-tensor file with its prefixes.
func FuzzReadSafetensors(f *testing.F) {
	good := safetensorsBytes(f, map[string]stTensor{"a.weight": {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"b": {Shape: []int{}, Data: []float32{7}}})
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(good[:9])
	hdr := []byte(`{"__metadata__":{"format":"pt"},"h":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"x":{"dtype":"I64","shape":[1],"data_offsets":[4,12]}}`)
	var b bytes.Buffer
	_ = binary.Write(&b, binary.LittleEndian, uint64(len(hdr)))
	b.Write(hdr)
	b.Write(make([]byte, 12))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := parseSafetensors(raw, "m.safetensors")
		if err != nil {
			if !strings.Contains(err.Error(), "m.safetensors") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for name, e := range st.entries {
			if dtypeSize[e.Dtype] == 0 {
				continue
			}
			v, err := st.float32s(name, e.Shape)
			if err != nil {
				t.Errorf("tensor %q parsed but does not read: %v", name, err)
			}
			if n, _ := elements(e.Shape); len(v) != n {
				t.Errorf("tensor %q: %d values for shape %v", name, len(v), e.Shape)
			}
		}
	})
}

// FuzzLoadVocab: any vocab.txt gives a Vocab with the four special
// tokens or an error naming the file, never a panic, and a loaded Vocab
// tokenizes text to ids inside it, [CLS] first and [SEP] last.
func FuzzLoadVocab(f *testing.F) {
	f.Add([]byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n##s\ncat\n"), "The cats, déjà 猫!")
	f.Add([]byte("[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[PAD]\r\n"), "")
	f.Add([]byte("[UNK]\n\n\x00\n"), "x")
	f.Fuzz(func(t *testing.T, raw []byte, s string) {
		v, err := readVocab(bytes.NewReader(raw), "vocab.txt")
		if err != nil {
			if !strings.Contains(err.Error(), "vocab.txt") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		for _, lower := range []bool{false, true} {
			for _, maxLen := range []int{0, 2, 5} {
				ids, mask := Tokenizer{Vocab: v, Lower: lower, MaxLen: maxLen}.Encode(s)
				if len(ids) != len(mask) || len(ids) < 2 || (maxLen > 0 && len(ids) != maxLen) {
					t.Fatalf("Encode(%q) lower=%v maxLen=%d: %d ids, %d mask", s, lower, maxLen, len(ids), len(mask))
				}
				for _, id := range ids {
					if id < 0 || int(id) >= v.Len() {
						t.Fatalf("id %d outside the %d-token vocabulary", id, v.Len())
					}
				}
				if cls, _ := v.ID(ClsToken); ids[0] != cls {
					t.Errorf("first id %d, want [CLS] %d", ids[0], cls)
				}
			}
		}
	})
}

// FuzzLoadBPETokenizer: any tokenizer.json gives a tokenizer or an error
// naming the file, never a panic, and a loaded tokenizer encodes text to
// ids in [0, VocabSize) or returns an error.
func FuzzLoadBPETokenizer(f *testing.F) {
	f.Add([]byte(`{"added_tokens":[{"id":5,"content":"<s>"}],"normalizer":{"type":"NFC"},
"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":true},
"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>"}},{"Sequence":{}}],"special_tokens":{"<s>":{"ids":[5]}}},
"model":{"type":"BPE","vocab":{"Ġ":0,"a":1,"b":2,"Ġa":3,"ab":4},"merges":["Ġ a","a b"]}}`), "<s>a ab ba")
	f.Add([]byte(`{"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":"`+
		strings.ReplaceAll(gpt2Pattern, `\`, `\\`)+`"}},{"type":"ByteLevel","use_regex":false}]},
"model":{"type":"BPE","vocab":{"h":0,"i":1,"hi":2},"merges":[["h","i"]],"ignore_merges":true}}`), "hi hi'll")
	f.Add([]byte(`{"model":{"type":"WordPiece"}}`), "")
	f.Fuzz(func(t *testing.T, raw []byte, s string) {
		tok, err := parseBPETokenizer(raw, "tokenizer.json")
		if err != nil {
			if !strings.Contains(err.Error(), "tokenizer.json") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		ids, err := tok.Encode(s)
		if err != nil {
			return
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize {
				t.Fatalf("Encode(%q): id %d outside [0, %d)", s, id, tok.VocabSize)
			}
		}
	})
}
