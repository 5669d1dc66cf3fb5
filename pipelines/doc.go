// Package pipelines is the home of genrec's jobs, one subpackage each, and
// of the job config file that ties them together (Job, LoadJob):
//
//	preprocess   Beam: raw interactions to Parquet sequences, vocabularies and summary.json
//	embeditems   Beam: item metadata to text vectors (HLLM's item side; ForModel for a train spec)
//	evaluate     Beam: a checkpoint's per-user ranks of a split, metrics.json and metrics.parquet
//	recommend    Beam: each user's top K (and, for listed new users, the popular items) as Parquet
//	distributed  data-parallel training: one Beam pipeline per round, shards averaged
//	train        the single-machine train job (GenRecTrainer), cold start, the ranking task, ONNX export
//	schedule     genrec run --date: preprocess, train, evaluate, recommend and export a dated partition
//
// Each Beam job exports Pipeline(s beam.Scope, cfg Config), which builds
// the pipeline into s, and Run(ctx, cfg, runners.Options), which builds,
// runs and reports it on the runner the options choose (prism in this
// process by default). Models are built and loaded through the registry in
// package models, never through another package here; a job that needs
// another job's output runs that job (train and distributed run
// embeditems for HLLM, schedule runs them all). cmd/genrec only parses
// flags and calls these.
package pipelines
