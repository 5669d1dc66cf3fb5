// Package recommend is the recommendation step as a Beam batch pipeline:
// for every user of a preprocess output folder it predicts the top K next
// items after the user's whole known history with a trained checkpoint,
// items the user already has masked, and writes them as a Parquet
// dataset folder, one row per (user, rank):
//
//	<out>/
//	  part-00000-of-00002.parquet ...   (Recommendation: user, rank, item, score, model_version, source)
//
// where <out> defaults to <checkpoint folder>/recommendations. A user's
// "whole known history" is their most recent row (test, else valid, else
// the most recent training window) with its target appended, and the
// items and scores are GenRecTrainer.Predict's for every user it covers
// (it covers the users with a test row when the data has any); this
// pipeline covers every user with a row (users too short for a test row
// get theirs from their training window). With Config.Users only the
// listed users are written (SelectUsers), and a listed user without
// history gets the most popular items of the training rows (PopularItems,
// Fallback) with source "popular".
//
// The pipeline reads the sequences table, keys every row by user and
// groups once; each instance of the scoring DoFn (one per worker thread,
// reused across bundles) loads the checkpoint and the item vocabulary in
// Setup (the weights never travel as a side input), buffers
// users and scores them BatchSize at a time. The rows are written per
// bundle under temporary names (<out>/_temporary/<run>) and renamed to
// their final names only when every bundle succeeded, so a failed job
// leaves no new final-named file.
package recommend
