package text

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The special tokens of a BERT vocabulary.
const (
	PadToken = "[PAD]"
	UnkToken = "[UNK]"
	ClsToken = "[CLS]"
	SepToken = "[SEP]"
)

// maxWordChars is WordPiece's limit: a whitespace/punctuation-separated word
// of more runes than this becomes [UNK] (BERT's max_input_chars_per_word).
const maxWordChars = 100

// Vocab is a WordPiece vocabulary: token i of Tokens has id i.
type Vocab struct {
	Tokens []string
	ids    map[string]int32
}

// NewVocab indexes tokens (id = position). As in HuggingFace's load_vocab, a
// token listed twice gets its last position.
func NewVocab(tokens []string) *Vocab {
	v := &Vocab{Tokens: tokens, ids: make(map[string]int32, len(tokens))}
	for i, t := range tokens {
		v.ids[t] = int32(i)
	}
	return v
}

// ID returns the id of token tok and whether the vocabulary has it.
func (v *Vocab) ID(tok string) (int32, bool) {
	id, ok := v.ids[tok]
	return id, ok
}

// Len is the number of ids.
func (v *Vocab) Len() int { return len(v.Tokens) }

// LoadVocab reads a BERT vocab.txt: one token per line, id = line index
// (counted from 0). The file must hold [PAD], [UNK], [CLS] and [SEP].
func LoadVocab(path string) (*Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("text: vocabulary: %w", err)
	}
	defer f.Close()
	return readVocab(f, path)
}

// readVocab reads a vocab.txt from r; path is used in errors.
func readVocab(r io.Reader, path string) (*Vocab, error) {
	var toks []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		toks = append(toks, strings.TrimSuffix(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("text: %s: line %d: %w", path, len(toks)+1, err)
	}
	v := NewVocab(toks)
	for _, s := range []string{PadToken, UnkToken, ClsToken, SepToken} {
		if _, ok := v.ID(s); !ok {
			return nil, fmt.Errorf("text: %s: no %s token among %d lines", path, s, len(toks))
		}
	}
	return v, nil
}

// Tokenizer is BERT's WordPiece tokenizer (Devlin et al. 2018, arXiv
// 1810.04805; the rules of HuggingFace's BertTokenizer):
//
//	clean:     drop NUL, U+FFFD and control characters (category C* except
//	           \t \n \r); every whitespace rune becomes ' '
//	CJK:       put spaces around each CJK ideograph, so it is its own word
//	NFC, then split on whitespace
//	Lower:     lower-case, NFD, drop nonspacing marks (Mn): "Déjà" -> "deja"
//	split:     every punctuation rune (Unicode P*, or ASCII !-/ :-@ [-` {-~)
//	           is its own word
//	WordPiece: per word, greedy longest-match-first against Vocab, pieces
//	           after the first prefixed "##"; a word with no full cover or
//	           over 100 runes is one [UNK]
//
// Encode adds [CLS] ... [SEP]. MaxLen > 0 truncates the pieces so that
// [CLS] pieces [SEP] fits MaxLen and pads with [PAD]; MaxLen 0 neither
// truncates nor pads. Differences from BertTokenizer: special tokens written
// in the text ("[MASK]") are split like any text, and Go's Unicode tables
// and lower-casing (unicode.ToLower per rune) stand in for Python's.
type Tokenizer struct {
	Vocab  *Vocab
	Lower  bool // bert-base-uncased: true
	MaxLen int  // 0: no limit; else >= 2
}

// Tokenize returns the WordPiece tokens of text, without [CLS]/[SEP] and
// without truncation. Empty or all-whitespace text gives none.
func (t Tokenizer) Tokenize(text string) []string {
	var out []string
	for _, w := range t.basic(text) {
		out = t.wordPiece(w, out)
	}
	return out
}

// Encode returns the ids [CLS] pieces [SEP] of text and the attention mask
// (1 for a token, 0 for padding), both MaxLen long when MaxLen > 0
// (truncated pieces, [PAD] after [SEP]). Empty text gives [CLS] [SEP].
// MaxLen 1 or negative panics.
func (t Tokenizer) Encode(text string) (ids, mask []int32) {
	ids = t.encode(text)
	n := len(ids)
	if t.MaxLen > n {
		pad := t.id(PadToken)
		for len(ids) < t.MaxLen {
			ids = append(ids, pad)
		}
	}
	mask = make([]int32, len(ids))
	for i := range n {
		mask[i] = 1
	}
	return ids, mask
}

// encode is Encode without padding.
func (t Tokenizer) encode(text string) []int32 {
	if t.MaxLen < 0 || t.MaxLen == 1 {
		panic(fmt.Sprintf("text: Tokenizer.MaxLen %d (need 0 or >= 2)", t.MaxLen))
	}
	pieces := t.Tokenize(text)
	if t.MaxLen > 0 && len(pieces) > t.MaxLen-2 {
		pieces = pieces[:t.MaxLen-2]
	}
	ids := make([]int32, 0, len(pieces)+2)
	ids = append(ids, t.id(ClsToken))
	for _, p := range pieces {
		ids = append(ids, t.id(p))
	}
	return append(ids, t.id(SepToken))
}

// id returns the id of a token the vocabulary must hold.
func (t Tokenizer) id(tok string) int32 {
	id, ok := t.Vocab.ID(tok)
	if !ok {
		panic(fmt.Sprintf("text: vocabulary has no %q", tok))
	}
	return id
}

// basic is BERT's BasicTokenizer: clean, isolate CJK, NFC, split on
// whitespace, optionally lower-case and strip accents, split punctuation.
func (t Tokenizer) basic(text string) []string {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == 0 || r == unicode.ReplacementChar || isControl(r):
		case isWhitespace(r):
			b.WriteByte(' ')
		case isCJK(r):
			b.WriteByte(' ')
			b.WriteRune(r)
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	var words []string
	for _, tok := range strings.Fields(norm.NFC.String(b.String())) {
		if t.Lower {
			tok = stripAccents(strings.ToLower(tok))
		}
		words = splitPunct(tok, words)
	}
	return words
}

// stripAccents is NFD followed by dropping nonspacing marks (Mn).
func stripAccents(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	for _, r := range d {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// splitPunct appends the words of tok to out, each punctuation rune a word.
func splitPunct(tok string, out []string) []string {
	start := 0
	for i, r := range tok {
		if isPunct(r) {
			if i > start {
				out = append(out, tok[start:i])
			}
			n := len(string(r))
			out = append(out, tok[i:i+n])
			start = i + n
		}
	}
	if start < len(tok) {
		out = append(out, tok[start:])
	}
	return out
}

// wordPiece appends the pieces of word to out: greedy longest match first,
// "##" before every piece but the first; [UNK] for the whole word when some
// suffix has no piece or the word has over maxWordChars runes.
func (t Tokenizer) wordPiece(word string, out []string) []string {
	rs := []rune(word)
	if len(rs) > maxWordChars {
		return append(out, UnkToken)
	}
	n0 := len(out)
	for start := 0; start < len(rs); {
		end, piece := len(rs), ""
		for ; end > start; end-- {
			s := string(rs[start:end])
			if start > 0 {
				s = "##" + s
			}
			if _, ok := t.Vocab.ID(s); ok {
				piece = s
				break
			}
		}
		if piece == "" {
			return append(out[:n0], UnkToken)
		}
		out = append(out, piece)
		start = end
	}
	return out
}

// isWhitespace is BERT's _is_whitespace: space, \t, \n, \r or category Zs.
func isWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isControl is BERT's _is_control: category C* (Cc, Cf, Co, Cs, and Cn for
// unassigned code points) except \t, \n, \r.
func isControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	// Cn: assigned to no category.
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isPunct is BERT's _is_punctuation: the ASCII non-alphanumeric symbols
// 33-47, 58-64, 91-96, 123-126 (so "$", "^", "`" count) or category P*.
func isPunct(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isCJK reports whether r is in the CJK Unified Ideographs blocks BERT
// isolates (not Hangul, Hiragana or Katakana).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
