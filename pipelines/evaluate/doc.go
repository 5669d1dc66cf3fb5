// Package evaluate is the evaluation step as a Beam batch pipeline: it
// ranks each user's held-out item of a split (test or valid) against the
// whole catalogue with a trained checkpoint, items already in the user's
// history masked (DESIGN.md's protocol), and writes
//
//	<out>/
//	  metrics.parquet/part-00000-of-00002.parquet ...  (UserMetrics, one row per user)
//	  metrics.json                                      (eval.Report; written last)
//
// where <out> defaults to <checkpoint folder>/eval-<split>. The numbers
// are those of the in-process train.Evaluate on the same data and
// checkpoint, up to the order of floating-point summation in the report.
//
// The pipeline reads the sequences table, keys every row by user and
// groups once; each instance of the ranking DoFn (one per worker thread,
// reused across bundles) loads the checkpoint in Setup (the weights never
// travel as a side input), buffers users and ranks them
// BatchSize at a time with one forward pass and one catalogue-wide GEMM.
// eval.RankingMetrics combines the ranks into the report. The per-user
// rows are written per bundle under temporary names and published by
// transforms.FinalizeParquet only once the report exists; metrics.json
// is written after them, so its presence marks a complete output, and a
// failed job leaves no new final-named file.
package evaluate
