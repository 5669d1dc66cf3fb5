// Package distributed trains a sequential model with synchronous
// data-parallel rounds (local SGD, model averaging; McMahan et al. 2017,
// arXiv 1602.05629; Lin et al. 2020, arXiv 1808.07217), one Beam pipeline
// per round with checkpoints between (Beam has no loops).
//
// Round r reads round r-1's checkpoint. Each of S shards (the training
// rows of the users that hash to it) runs K local AdamW steps with the
// trainer's loss from those weights and moments and emits its parameters;
// a combine averages values and moments element-wise, weighted by the
// training windows each shard saw, into round r's checkpoint. The driver
// (Run) validates every round in process, keeps best.ckpt and last.ckpt,
// stops early and resumes after the last finished round.
//
// With one shard a round is the in-process trainer's steps: the shard's
// batch order, random stream and learning-rate schedule are
// GenRecTrainer.Fit's, so one-shard rounds give Fit's weights bit for bit.
package distributed
