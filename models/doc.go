// Package models is the home of genrec's recommenders, one subpackage
// each: baseline (popularity and first-order Markov, the floor every model
// must beat), and the HSTU and HLLM models with their layers, losses,
// optimizers and checkpoints.
package models
