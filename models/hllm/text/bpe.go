package text

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// gpt2Pattern is GPT-2's pre-tokenization regex, the one byte-level BPE
// tokenizers (tokenizers' ByteLevel with use_regex) split text by.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// BPETokenizer is a byte-level BPE tokenizer read from a HuggingFace
// tokenizer.json (GPT-2, Radford et al. 2019; the LLaMA-3, Qwen2 and SmolLM
// tokenizers are of this kind):
//
//	added tokens: the text is first cut at every added token's content
//	              (longest first), which maps to its id directly
//	normalize:    NFC when the normalizer says so (Qwen2), else none
//	pre-split:    GPT-2's regex (gpt2Pattern), an optional prefix space
//	bytes:        each UTF-8 byte -> one printable rune (bytes_to_unicode)
//	BPE:          per piece, repeatedly merge the adjacent pair of lowest
//	              merge rank; the symbols are vocabulary ids
//	template:     Prefix (e.g. LLaMA's <s>) before the ids, Suffix after
//
// Supported pre_tokenizers: ByteLevel with use_regex, or a Sequence of a
// Split by gpt2Pattern and a ByteLevel without it; others are an error
// naming the file, as are unknown byte symbols (no byte fallback).
type BPETokenizer struct {
	vocab        map[string]int32
	ranks        map[[2]string]int
	added        []string // contents, longest first
	addedIDs     map[string]int32
	nfc          bool
	prefixSpace  bool
	ignoreMerges bool
	Prefix       []int32 // ids the post-processor puts before the text
	Suffix       []int32 // and after it
	byteRune     [256]rune
	cache        map[string][]int32
	VocabSize    int
	path         string
}

// LoadBPETokenizer reads tokenizer.json.
func LoadBPETokenizer(path string) (*BPETokenizer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("text: tokenizer: %w", err)
	}
	return parseBPETokenizer(raw, path)
}

// parseBPETokenizer parses the bytes of a tokenizer.json; path is used in
// errors. Ids must be >= 0 and added tokens non-empty.
func parseBPETokenizer(raw []byte, path string) (*BPETokenizer, error) {
	type step struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
		Pattern        struct {
			Regex  string `json:"Regex"`
			String string `json:"String"`
		} `json:"pattern"`
		Pretokenizers []json.RawMessage `json:"pretokenizers"`
		Normalizers   []json.RawMessage `json:"normalizers"`
		Single        []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct{} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int32 `json:"ids"`
		} `json:"special_tokens"`
		Processors []json.RawMessage `json:"processors"`
	}
	var tj struct {
		AddedTokens []struct {
			ID      int32  `json:"id"`
			Content string `json:"content"`
		} `json:"added_tokens"`
		Normalizer    *step `json:"normalizer"`
		PreTokenizer  *step `json:"pre_tokenizer"`
		PostProcessor *step `json:"post_processor"`
		Model         struct {
			Type         string           `json:"type"`
			Vocab        map[string]int32 `json:"vocab"`
			Merges       []json.RawMessage
			IgnoreMerges bool `json:"ignore_merges"`
			ByteFallback bool `json:"byte_fallback"`
		} `json:"model"`
	}
	if err := json.Unmarshal(raw, &tj); err != nil {
		return nil, fmt.Errorf("text: %s: %w", path, err)
	}
	fail := func(format string, a ...any) (*BPETokenizer, error) {
		return nil, fmt.Errorf("text: %s: "+format, append([]any{path}, a...)...)
	}
	if tj.Model.Type != "BPE" {
		return fail("model type %q: want BPE", tj.Model.Type)
	}
	t := &BPETokenizer{vocab: tj.Model.Vocab, ranks: map[[2]string]int{}, addedIDs: map[string]int32{},
		ignoreMerges: tj.Model.IgnoreMerges, cache: map[string][]int32{}, path: path}
	for tok, id := range t.vocab {
		if id < 0 {
			return fail("vocabulary token %q has negative id %d", tok, id)
		}
		t.VocabSize = max(t.VocabSize, int(id)+1)
	}
	for i, m := range tj.Model.Merges {
		var pair [2]string
		var s string
		if json.Unmarshal(m, &s) == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return fail("merge %d %q: want two symbols", i, s)
			}
			pair = [2]string{a, b}
		} else if err := json.Unmarshal(m, &pair); err != nil {
			return fail("merge %d: %v", i, err)
		}
		if _, dup := t.ranks[pair]; !dup {
			t.ranks[pair] = i
		}
	}
	for i, a := range tj.AddedTokens {
		if a.Content == "" || a.ID < 0 {
			return fail("added token %d: empty content or negative id %d", i, a.ID)
		}
		t.added = append(t.added, a.Content)
		t.addedIDs[a.Content] = a.ID
		t.VocabSize = max(t.VocabSize, int(a.ID)+1)
	}
	sort.SliceStable(t.added, func(i, j int) bool { return len(t.added[i]) > len(t.added[j]) })
	if n := tj.Normalizer; n != nil {
		if n.Type != "NFC" {
			return fail("normalizer %q: only NFC (or none) is supported", n.Type)
		}
		t.nfc = true
	}
	pre := tj.PreTokenizer
	switch {
	case pre != nil && pre.Type == "ByteLevel" && (pre.UseRegex == nil || *pre.UseRegex):
		t.prefixSpace = pre.AddPrefixSpace
	case pre != nil && pre.Type == "Sequence" && len(pre.Pretokenizers) == 2:
		var split, bl step
		_ = json.Unmarshal(pre.Pretokenizers[0], &split)
		_ = json.Unmarshal(pre.Pretokenizers[1], &bl)
		if split.Type != "Split" || split.Pattern.Regex != gpt2Pattern || bl.Type != "ByteLevel" || (bl.UseRegex != nil && *bl.UseRegex) {
			return fail("pre_tokenizer: a Sequence other than Split(GPT-2 regex) + ByteLevel is not supported")
		}
		t.prefixSpace = bl.AddPrefixSpace
	default:
		return fail("pre_tokenizer: only byte-level BPE (ByteLevel with GPT-2's regex) is supported")
	}
	if pp := tj.PostProcessor; pp != nil && pp.Type == "TemplateProcessing" {
		seen := false
		for _, s := range pp.Single {
			switch {
			case s.Sequence != nil:
				seen = true
			case s.SpecialToken != nil:
				ids := pp.SpecialTokens[s.SpecialToken.ID].IDs
				for _, id := range ids {
					if id < 0 {
						return fail("post_processor: special token %q has negative id %d", s.SpecialToken.ID, id)
					}
					t.VocabSize = max(t.VocabSize, int(id)+1)
				}
				if seen {
					t.Suffix = append(t.Suffix, ids...)
				} else {
					t.Prefix = append(t.Prefix, ids...)
				}
			}
		}
	}
	n := 0
	for b := range 256 { // GPT-2's bytes_to_unicode
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t.byteRune[b] = rune(b)
		} else {
			t.byteRune[b] = rune(256 + n)
			n++
		}
	}
	return t, nil
}

// ID returns the id of a vocabulary or added token.
func (t *BPETokenizer) ID(tok string) (int32, bool) {
	if id, ok := t.addedIDs[tok]; ok {
		return id, true
	}
	id, ok := t.vocab[tok]
	return id, ok
}

// Encode returns Prefix, the BPE ids of text, Suffix. An unknown byte
// symbol is an error.
func (t *BPETokenizer) Encode(text string) ([]int32, error) {
	ids := append([]int32{}, t.Prefix...)
	for len(text) > 0 {
		at, tok := len(text), ""
		for _, a := range t.added {
			if i := strings.Index(text, a); i >= 0 && (i < at || (i == at && len(a) > len(tok))) {
				at, tok = i, a
			}
		}
		var err error
		if ids, err = t.encodePlain(text[:at], ids); err != nil {
			return nil, err
		}
		if tok == "" {
			break
		}
		ids = append(ids, t.addedIDs[tok])
		text = text[at+len(tok):]
	}
	return append(ids, t.Suffix...), nil
}

// encodePlain appends the ids of text without added tokens.
func (t *BPETokenizer) encodePlain(text string, ids []int32) ([]int32, error) {
	if text == "" {
		return ids, nil
	}
	if t.nfc {
		text = norm.NFC.String(text)
	}
	if t.prefixSpace && !strings.HasPrefix(text, " ") {
		text = " " + text
	}
	for _, piece := range splitGPT2(text) {
		if c, ok := t.cache[piece]; ok {
			ids = append(ids, c...)
			continue
		}
		var b strings.Builder
		for i := 0; i < len(piece); i++ {
			b.WriteRune(t.byteRune[piece[i]])
		}
		got, err := t.bpe(b.String())
		if err != nil {
			return nil, err
		}
		if len(t.cache) < 1<<16 {
			t.cache[piece] = got
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// bpe merges the runes of word by rank and returns the symbols' ids.
func (t *BPETokenizer) bpe(word string) ([]int32, error) {
	if id, ok := t.vocab[word]; ok && t.ignoreMerges {
		return []int32{id}, nil
	}
	var syms []string
	for _, r := range word {
		syms = append(syms, string(r))
	}
	for len(syms) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(syms); i++ {
			if r, ok := t.ranks[[2]string{syms[i], syms[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		a, b := syms[at], syms[at+1]
		out := syms[:0:0]
		for i := 0; i < len(syms); i++ {
			if i+1 < len(syms) && syms[i] == a && syms[i+1] == b {
				out = append(out, a+b)
				i++
			} else {
				out = append(out, syms[i])
			}
		}
		syms = out
	}
	ids := make([]int32, len(syms))
	for i, s := range syms {
		id, ok := t.vocab[s]
		if !ok {
			return nil, fmt.Errorf("text: %s: symbol %q of %q is not in the vocabulary", t.path, s, word)
		}
		ids[i] = id
	}
	return ids, nil
}

// runeClass is the class of a rune in gpt2Pattern: letter, number,
// whitespace or other.
func runeClass(r rune) byte {
	switch {
	case unicode.IsLetter(r):
		return 'L'
	case unicode.IsNumber(r):
		return 'N'
	case unicode.IsSpace(r):
		return 's'
	}
	return 'o'
}

// splitGPT2 splits text as gpt2Pattern matches it, left to right.
func splitGPT2(text string) []string {
	rs := []rune(text)
	var out []string
	for i := 0; i < len(rs); {
		j := gpt2Match(rs, i)
		out = append(out, string(rs[i:j]))
		i = j
	}
	return out
}

// gpt2Match returns the end of gpt2Pattern's match at rs[i:].
func gpt2Match(rs []rune, i int) int {
	n := len(rs)
	if rs[i] == '\'' && i+1 < n {
		if i+2 < n {
			if s := string(rs[i+1 : i+3]); s == "re" || s == "ve" || s == "ll" {
				return i + 3
			}
		}
		switch rs[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		}
	}
	start := i
	if rs[i] == ' ' && i+1 < n && runeClass(rs[i+1]) != 's' {
		start = i + 1
	}
	if c := runeClass(rs[start]); c != 's' {
		j := start + 1
		for j < n && runeClass(rs[j]) == c {
			j++
		}
		return j
	}
	j := i + 1
	for j < n && runeClass(rs[j]) == 's' {
		j++
	}
	if j < n && j-i > 1 {
		return j - 1 // \s+(?!\S): leave the last space to the next word
	}
	return j
}
