package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/genrec/genrec/transforms"
)

// EpochLog is one line of train_log.jsonl.
type EpochLog struct {
	Epoch             int                `json:"epoch"`
	Loss              float64            `json:"loss"`
	LR                float64            `json:"lr"`
	Seconds           float64            `json:"seconds"`
	ExamplesPerSecond float64            `json:"examples_per_s"`
	Valid             map[string]float64 `json:"valid,omitempty"`
	Best              bool               `json:"best,omitempty"`
}

// logWriter keeps train_log.jsonl and its plot in a model path. Each write
// rewrites both files atomically, so a killed run never leaves half a line.
type logWriter struct {
	dir     string
	metric  string
	entries []EpochLog
}

// openLog reads the log a resumed run continues (entries after the
// checkpoint's epoch are dropped: they are redone).
func (s *Session) openLog(ctx context.Context) (*logWriter, error) {
	w := &logWriter{dir: s.Options.ModelPath, metric: s.Options.EarlyStopMetric}
	if w.dir == "" || s.pos.Epoch == 0 {
		return w, nil
	}
	data, err := transforms.ReadFile(ctx, transforms.JoinPath(w.dir, "train_log.jsonl"))
	if err != nil {
		return w, nil // no log to continue: start one
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var e EpochLog
		if err := dec.Decode(&e); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("trainer: %s: %w", transforms.JoinPath(w.dir, "train_log.jsonl"), err)
		}
		if e.Epoch <= s.pos.Epoch {
			w.entries = append(w.entries, e)
		}
	}
	return w, nil
}

func (w *logWriter) write(ctx context.Context, e EpochLog) error {
	w.entries = append(w.entries, e)
	if w.dir == "" {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, e := range w.entries {
		if err := enc.Encode(e); err != nil {
			return fmt.Errorf("trainer: log: %w", err)
		}
	}
	if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(w.dir, "train_log.jsonl"), buf.Bytes()); err != nil {
		return fmt.Errorf("trainer: log: %w", err)
	}
	png, err := PlotLog(w.entries, w.metric)
	if err != nil {
		return fmt.Errorf("trainer: plot: %w", err)
	}
	if err := transforms.WriteFileAtomic(ctx, transforms.JoinPath(w.dir, "train_log.png"), png); err != nil {
		return fmt.Errorf("trainer: plot: %w", err)
	}
	return nil
}

// PlainLines is a Session.Progress for output that is not a terminal
// (logs, cron, CI): instead of a bar redrawn with \r, the session writes one
// plain line to W at most every Every (default 30 s) during an epoch,
//
//	epoch 2/10  step 300/1200  loss 4.1234  812 seq/s
type PlainLines struct {
	W     io.Writer
	Every time.Duration
}

func (p *PlainLines) Write(b []byte) (int, error) { return p.W.Write(b) }

// bar is a per-epoch progress bar showing loss and examples/s, or its
// plain-line form (PlainLines).
type bar struct {
	b     *progressbar.ProgressBar
	plain *plainBar
}

type plainBar struct {
	p                    *PlainLines
	steps, epoch, epochs int
	last                 time.Time
}

func newBar(w io.Writer, steps, epoch, epochs int) bar {
	if w == nil {
		return bar{}
	}
	if p, ok := w.(*PlainLines); ok {
		return bar{plain: &plainBar{p: p, steps: steps, epoch: epoch, epochs: epochs, last: time.Now()}}
	}
	return bar{b: progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(fmt.Sprintf("epoch %d/%d", epoch, epochs)),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(200e6),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b bar) update(done int, loss, rate float64) {
	if pb := b.plain; pb != nil {
		every := pb.p.Every
		if every <= 0 {
			every = 30 * time.Second
		}
		if time.Since(pb.last) >= every && done < pb.steps {
			pb.last = time.Now()
			fmt.Fprintf(pb.p.W, "epoch %d/%d  step %d/%d  loss %.4f  %.0f seq/s\n", pb.epoch, pb.epochs, done, pb.steps, loss, rate)
		}
		return
	}
	if b.b == nil {
		return
	}
	b.b.Describe(fmt.Sprintf("loss %.4f  %.0f seq/s", loss, rate))
	b.b.Set(done)
}

func (b bar) finish() {
	if b.b != nil {
		b.b.Finish()
	}
}
