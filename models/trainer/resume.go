package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// resumeFree lists the options (by their config names) a resumed run may
// change without changing the steps it takes: how long it runs, where it
// writes, what it reports and how many cores it uses. Every other option
// (batch size, optimizer, loss, seed, ...) shapes the steps, so a resume
// with another value would continue a run that no configuration describes.
var resumeFree = map[string]bool{
	"n_epoch": true, "earlystop_patience": true, "model_path": true, "ks": true,
	"eval_batch_size": true, "checkpoint_every": true, "threads": true, "device": true,
}

// ErrCannotResume marks a checkpoint that does not belong to the run asked
// to continue it: another model, model configuration, item catalogue or
// (a *ChangedError) training options. A CLI reports it as bad usage.
var ErrCannotResume = errors.New("trainer: cannot resume")

// ChangedError is a resume refused because the checkpoint was trained with
// other options; Changes names each as "key: was → now".
type ChangedError struct {
	Path    string
	Changes []string
}

func (e *ChangedError) Unwrap() error { return ErrCannotResume }

func (e *ChangedError) Error() string {
	return fmt.Sprintf("trainer: cannot resume: %s was trained with other options:\n  %s\nrerun with the checkpoint's values, or pass --resume-changed to continue with the new ones",
		e.Path, strings.Join(e.Changes, "\n  "))
}

// ChangedOptions compares the options a checkpoint was trained with (was,
// the checkpoint's TrainConfig JSON) with now and returns the options that
// differ, each as "key: was → now" with dotted config names
// ("optimizer_params.lr: 0.001 → 0.002"), sorted. Options a resume may
// change freely (resumeFree) are left out, except n_epoch when the
// learning rate follows a cosine schedule over the run. An empty or
// unreadable was (checkpoints older than the field) compares equal.
func ChangedOptions(was []byte, now Options) []string {
	var old map[string]any
	if len(was) == 0 || json.Unmarshal(was, &old) != nil {
		return nil
	}
	var cur map[string]any
	b, _ := json.Marshal(now)
	_ = json.Unmarshal(b, &cur)
	a, c := map[string]string{}, map[string]string{}
	flatten("", old, a)
	flatten("", cur, c)
	free := func(k string) bool {
		return resumeFree[k] && !(k == "n_epoch" && now.Optimizer.Cosine)
	}
	keys := maps.Clone(a)
	maps.Copy(keys, c) // every key of either side
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if free(k) || a[k] == c[k] {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s → %s", k, orUnset(a[k]), orUnset(c[k])))
	}
	return out
}

// flatten writes every leaf of m into out under its dotted key, each value
// as its JSON text.
func flatten(prefix string, m map[string]any, out map[string]string) {
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			flatten(prefix+k+".", sub, out)
			continue
		}
		b, _ := json.Marshal(v)
		out[prefix+k] = string(b)
	}
}

func orUnset(v string) string {
	if v == "" {
		return "(unset)"
	}
	return v
}
