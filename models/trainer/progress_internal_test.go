package trainer

import (
	"strings"
	"testing"
	"time"
)

// Output that is not a terminal gets plain lines during an epoch, no \r
// (issue 15 item 8), at most one per interval.
func TestPlainLinesProgress(t *testing.T) {
	var w strings.Builder
	b := newBar(&PlainLines{W: &w, Every: time.Nanosecond}, 10, 2, 5)
	time.Sleep(time.Millisecond)
	b.update(3, 4.5, 100)
	if got := w.String(); got != "epoch 2/5  step 3/10  loss 4.5000  100 seq/s\n" {
		t.Errorf("line %q", got)
	}
	w.Reset()
	slow := newBar(&PlainLines{W: &w, Every: time.Hour}, 10, 1, 1)
	slow.update(5, 1, 1)
	slow.finish()
	if w.Len() != 0 {
		t.Errorf("wrote %q before the interval passed", w.String())
	}
}
