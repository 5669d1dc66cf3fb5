// Package trainer holds GenRecTrainer, the training loop of genrec's
// sequential models: mini-batch AdamW on the retrieval head's loss, a
// validation ranking after each epoch with early stopping, atomic best and
// last checkpoints that a killed run resumes from exactly, a JSONL training
// log with a PNG plot of its curves, and Evaluate and Predict on the
// trained model.
package trainer
