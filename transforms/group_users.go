package transforms

import (
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn2x0[SequenceRow, func(int64, SequenceRow)](&keyByUserFn{})
	register.Emitter2[int64, SequenceRow]()
}

// GroupByUser takes PCollection<SequenceRow> and returns
// PCollection<KV<int64, Iter<SequenceRow>>>: each user's rows under the
// encoded user id, the one shuffle of the scoring pipelines. With
// dropTest, test rows are left out (validation must not see them).
func GroupByUser(s beam.Scope, rows beam.PCollection, dropTest bool) beam.PCollection {
	s = s.Scope("GroupByUser")
	return beam.GroupByKey(s, beam.ParDo(s, &keyByUserFn{DropTest: dropTest}, rows))
}

type keyByUserFn struct{ DropTest bool }

func (f *keyByUserFn) ProcessElement(r SequenceRow, emit func(int64, SequenceRow)) {
	if f.DropTest && r.Split == SplitTest {
		return
	}
	emit(r.User, r)
}
