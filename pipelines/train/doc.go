// Package train runs the training, evaluation and recommendation steps of
// a sequential model on a preprocess output folder: Run trains with
// GenRecTrainer and reports validation and test metrics, Evaluate scores a
// checkpoint, Recommend writes each user's top-K items as Parquet.
package train
