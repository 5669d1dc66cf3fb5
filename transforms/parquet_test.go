package transforms_test

import (
	"context"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/genrec/genrec/transforms"
)

// Rows written by the sink and published by FinalizeParquet come back
// unchanged through the Parquet source, in a pipeline and outside one.
func TestParquetSinkAndSourceRoundTrip(t *testing.T) {
	out := t.TempDir()
	rows := []transforms.SequenceRow{
		{User: 1, UserKey: "u1", Split: "train", Items: []int64{3, 4}, Timestamps: []int64{10, 11}, Target: 5, TargetTimestamp: 12},
		{User: 1, UserKey: "u1", Split: "test", Window: 0, Items: []int64{4, 5}, Timestamps: []int64{11, 12}, Target: 6, TargetTimestamp: 13},
		{User: 2, UserKey: "u2", Split: "valid", Items: []int64{}, Timestamps: []int64{}, Target: 1, TargetTimestamp: 1},
	}
	p, s := beam.NewPipelineWithRoot()
	temps := transforms.WriteSequences(s, out+"/_temporary/t", beam.CreateList(s, rows))
	gate := beam.Create(s, transforms.Gate{})
	committed := transforms.FinalizeParquet(s, out, temps, gate)
	passert.Count(s, committed, "committed", 1)
	ptest.RunAndValidate(t, p)

	got, err := transforms.LoadTable[transforms.SequenceRow](context.Background(), out+"/sequences")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("read back %d rows, want %d", len(got), len(rows))
	}

	p, s = beam.NewPipelineWithRoot()
	back := transforms.ReadSequences(s, out+"/sequences")
	passert.Count(s, back, "rows", len(rows))
	passert.EqualsList(s, beam.ParDo(s, userKeyFn, back), []string{"u1", "u1", "u2"})
	ptest.RunAndValidate(t, p)
}

func userKeyFn(r transforms.SequenceRow) string { return r.UserKey }

func init() { register.Function1x1(userKeyFn) }

func TestMain(m *testing.M) { ptest.Main(m) }
