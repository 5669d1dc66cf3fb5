package text

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// testTokens is a small WordPiece vocabulary: the special tokens, then
// words, "##" pieces and punctuation.
var testTokens = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
	"the", "a", "##a", "cafe", "deja", "vu", "-", ",", ".", "!", "?", "'", "(", ")", "$", "—",
	"hello", "world", "##world", "un", "##aff", "##able", "play", "##ing", "##ed", "##s",
	"run", "##ner", "red", "blue", "shoe", "for", "men", "women", "book", "of", "and",
	"café", "new", "york", "time", "##x", "5", "你", "好", "classic", "novel", "cotton", "shirt",
	"size", "large", "small", "toy", "game", "music", "movie", "lip", "##stick", "matte", "gloss",
}

func testTokenizer(maxLen int) Tokenizer {
	return Tokenizer{Vocab: NewVocab(testTokens), Lower: true, MaxLen: maxLen}
}

// TestTokenize checks BertTokenizer's rules on hand-worked cases (the
// expected pieces were derived by applying BERT's BasicTokenizer and
// WordPiece rules by hand to testTokens).
func TestTokenize(t *testing.T) {
	long100, long101 := strings.Repeat("a", 100), strings.Repeat("a", 101)
	want100 := []string{"a"}
	for range 99 {
		want100 = append(want100, "##a")
	}
	for _, c := range []struct {
		name, text string
		lower      bool
		want       []string
	}{
		{"accents", "Café Déjà-vu", true, []string{"cafe", "deja", "-", "vu"}},
		{"cased keeps accents", "café Déjà", false, []string{"café", "[UNK]"}},
		{"punctuation", "Hello, world! (new York?)", true, []string{"hello", ",", "world", "!", "(", "new", "york", "?", ")"}},
		{"ascii symbols split", "$5", true, []string{"$", "5"}},
		{"unicode punctuation", "hello—world", true, []string{"hello", "—", "world"}},
		{"apostrophe", "men's", true, []string{"men", "'", "[UNK]"}},
		{"wordpiece", "unaffable playing Runners", true, []string{"un", "##aff", "##able", "play", "##ing", "run", "##ner", "##s"}},
		{"no cover is one unk", "unaffablez shoes", true, []string{"[UNK]", "shoe", "##s"}},
		{"unknown word", "zebra", true, []string{"[UNK]"}},
		{"empty", "", true, nil},
		{"whitespace only", " \t\n\u00a0\u3000 ", true, nil},
		{"controls dropped", "hello\x00\ufffd\u200b\x07world", true, []string{"hello", "##world"}},
		{"tabs and nbsp split", "red\tblue\u00a0shoe", true, []string{"red", "blue", "shoe"}},
		{"cjk isolated", "你好world", true, []string{"你", "好", "world"}},
		{"100 runes", long100, true, want100},
		{"101 runes is unk", long101 + " toy", true, []string{"[UNK]", "toy"}},
	} {
		tk := testTokenizer(0)
		tk.Lower = c.lower
		if got := tk.Tokenize(c.text); !slices.Equal(got, c.want) {
			t.Errorf("%s: Tokenize(%q) = %q, want %q", c.name, c.text, got, c.want)
		}
	}
}

// TestBasicSplits checks the BasicTokenizer split rules without a
// vocabulary in the way.
func TestBasicSplits(t *testing.T) {
	tk := testTokenizer(0)
	for _, c := range []struct {
		text string
		want []string
	}{
		{"a$b^c`d~e|f", []string{"a", "$", "b", "^", "c", "`", "d", "~", "e", "|", "f"}},
		{"«Ünïcödé»", []string{"«", "unicode", "»"}},
		{"東京タワー", []string{"東", "京", "タワー"}}, // kana are not isolated, ideographs are
		{"e\u0301", []string{"e"}},           // combining accent stripped
		{"ÅNGSTRÖM", []string{"angstrom"}},
	} {
		if got := tk.basic(c.text); !slices.Equal(got, c.want) {
			t.Errorf("basic(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

// TestEncode checks [CLS]/[SEP], truncation keeping [SEP], padding and the
// mask. Ids are positions in testTokens.
func TestEncode(t *testing.T) {
	id := func(toks ...string) []int32 {
		v := NewVocab(testTokens)
		var out []int32
		for _, s := range toks {
			i, ok := v.ID(s)
			if !ok {
				t.Fatalf("no %q", s)
			}
			out = append(out, i)
		}
		return out
	}
	for _, c := range []struct {
		name     string
		maxLen   int
		text     string
		ids      []int32
		maskOnes int
	}{
		{"empty", 0, "", id("[CLS]", "[SEP]"), 2},
		{"no limit", 0, "hello world", id("[CLS]", "hello", "world", "[SEP]"), 4},
		{"truncated", 5, "hello world hello world", id("[CLS]", "hello", "world", "hello", "[SEP]"), 5},
		{"truncated mid word", 4, "unaffable", id("[CLS]", "un", "##aff", "[SEP]"), 4},
		{"fits exactly", 4, "hello world", id("[CLS]", "hello", "world", "[SEP]"), 4},
		{"padded", 6, "hello", id("[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]", "[PAD]"), 3},
		{"max 2", 2, "hello world", id("[CLS]", "[SEP]"), 2},
	} {
		ids, mask := testTokenizer(c.maxLen).Encode(c.text)
		if !slices.Equal(ids, c.ids) {
			t.Errorf("%s: ids %v, want %v", c.name, ids, c.ids)
		}
		wantMask := make([]int32, len(c.ids))
		for i := range c.maskOnes {
			wantMask[i] = 1
		}
		if !slices.Equal(mask, wantMask) {
			t.Errorf("%s: mask %v, want %v", c.name, mask, wantMask)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "MaxLen") {
			t.Errorf("MaxLen 1: recovered %v, want a MaxLen panic", r)
		}
	}()
	testTokenizer(1).Encode("hello")
}

// TestLoadVocab checks ids = line index, CRLF lines and the error for a
// vocabulary without [UNK].
func TestLoadVocab(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "vocab.txt")
	if err := os.WriteFile(good, []byte("[PAD]\r\n[UNK]\r\n[CLS]\n[SEP]\nhello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := LoadVocab(good)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := v.ID("hello"); !ok || id != 4 || v.Len() != 5 {
		t.Errorf("hello -> %d, %v; Len %d; want 4, true; 5", id, ok, v.Len())
	}
	if id, _ := v.ID("[UNK]"); id != 1 {
		t.Errorf("[UNK] -> %d, want 1 (CR stripped)", id)
	}
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("[PAD]\n[CLS]\n[SEP]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadVocab(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "[UNK]") {
		t.Errorf("LoadVocab(no [UNK]) error %v, want one naming %s and [UNK]", err, bad)
	}
	if _, err := LoadVocab(filepath.Join(dir, "none.txt")); err == nil || !strings.Contains(err.Error(), "none.txt") {
		t.Errorf("LoadVocab(missing) error %v, want one naming the file", err)
	}
}
