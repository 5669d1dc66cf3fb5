// Package models is the home of genrec's recommenders, one subpackage
// each:
//
//	kernels     numerical kernels with explicit forward and backward (float32/float64)
//	sequential  what next-item models share: batches, input and output layers, the retrieval head
//	hstu        HSTU (arXiv 2402.17152)
//	hllm        HLLM (arXiv 2409.12740): item text + ID fusion under an HSTU or softmax user model;
//	            hllm/text (WordPiece + BERT forward), hllm/itemtext (prompts, the hashed n-gram encoder)
//	ranking     the ranking (click) task: HSTU as a click model, the mean-pooled baseline
//	sasrec      SASRec (arXiv 1808.09781), the baseline HSTU is compared with
//	trainer     GenRecTrainer: fit with early stopping, evaluate, predict, checkpoints
//	graph       the kernels as gorgonia custom Ops, and HSTU as a gorgonia graph
//	baseline    popularity and first-order Markov, the floor every model must beat
//	tiger       TIGER (arXiv 2305.05065): semantic ids (tiger/rqvae) and the generative retriever
//
// The package itself is the model registry every job goes through:
// TrainSpec (a config file's train: section) is resolved against the data
// into the Config a checkpoint stores (TrainSpec.Resolve, reading the side
// feature files and HLLM's item text vectors), Build makes a model of a
// Config, Load and FromCheckpoint rebuild a trained one, and CheckData and
// CheckpointCatalogue check that a checkpoint is used on its catalogue.
// Nothing here runs a Beam pipeline: HLLM's item texts are encoded by
// pipelines/embeditems (ForModel) before TrainSpec.LoadData reads them.
package models
