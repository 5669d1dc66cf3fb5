// Package schedule runs genrec's whole chain (preprocess, train, evaluate,
// recommend, export) for one dated partition, idempotently, for schedulers
// such as cron, Kubernetes CronJobs and Airflow. Run is what
// `genrec run --date YYYY-MM-DD` calls.
//
// A partition is a folder under a root, local or gs://:
//
//	<root>/dt=2026-11-29/
//	  _LOCK               held while a run works on the partition
//	  data/               preprocess output (sequences, vocab, summary.json)
//	  model/              best.ckpt, last.ckpt, train_log.jsonl/.png, metrics.json
//	  eval/               the evaluate pipeline's metrics.json and per-user metrics.parquet
//	  metrics.json        test-split report of model/best.ckpt
//	  recs/               each user's top-K items (the recommend pipeline's part files)
//	  model.onnx          the exported model, and model.items.parquet
//	  _SUCCESS            written last, only when every step succeeded
//	  _FAILED             written instead when a step failed
//
// Semantics, in the order Run applies them:
//
//   - Run takes the partition's lock (_LOCK, created only if absent)
//     before it reads or writes anything else there. A lock that another
//     live run holds is a *LockedError (genrec run exits 3). A lock is
//     stale, and broken with a message, when it is older than
//     Config.LockTimeout or names a process on this host that is gone.
//   - A partition with _SUCCESS is done: Run returns at once
//     (Result.AlreadyDone) unless Config.Force, which removes the
//     partition's outputs and redoes it.
//   - A partition without _SUCCESS (a failed or killed run) is redone from
//     scratch: its outputs are removed first. Steps take minutes, and a
//     clean slate is the only state whose result does not depend on how
//     the previous run died.
//   - The model warm-starts from the latest earlier partition with
//     _SUCCESS when its model/best.ckpt has the same model configuration
//     and item catalogue (same items with the same ids); it then loads
//     that checkpoint's weights only: epochs, optimizer moments and early
//     stopping start afresh. Otherwise it trains from scratch and
//     Result.ColdStart says why.
//   - A failed step writes _FAILED (step and error) and returns a
//     *StepError; the lock is released on every return, Ctrl-C included.
package schedule
