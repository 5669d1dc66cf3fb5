// Package train is the single-machine train job: Run encodes HLLM's item
// texts on the caller's runner (pipelines/embeditems.ForModel), resolves
// the config's models.TrainSpec on the data, trains with GenRecTrainer and reports
// validation and test metrics; ColdStart holds items out to measure
// cold-start ranking; RunRanking trains the ranking task, EvaluateRanking
// and PredictRanking score its checkpoints; Export writes ONNX. Evaluating
// and recommending with a sequential model are the Beam pipelines
// pipelines/evaluate and pipelines/recommend.
//
// The model registry (building, loading, the catalogue check) is in
// package models, so the Beam pipelines load models without this package.
package train
