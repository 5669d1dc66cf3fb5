// Package graph wraps genrec's hand-written kernels (models/kernels) as
// gorgonia custom Ops, so that models can be composed as gorgonia
// expression graphs and differentiated with gorgonia.Grad, and builds HSTU
// that way: BuildHSTU in eval mode, as a check and a measure of the
// kernel path, and BuildHSTUTrain and Step in training mode (dropout,
// negatives drawn from the rng in the direct path's order), an engine the
// trainer can select (trainer.Options.Engine "gorgonia") with the direct
// path's losses and gradients bit for bit.
//
// Every Op here is float32. A forward Op calls the kernel's Forward; its
// SymDiff adds gradient nodes whose Do calls the kernel's Backward, so the
// graph computes exactly what the direct path (hstu.Model.Forward/Backward
// and sequential.Head) computes, only in gorgonia's order. A gradient node
// reads the forward's inputs and output as graph inputs, which keeps them
// live; anything else the backward needs (LayerNorm's rstd, the norms of
// L2 normalisation, the loss gradients, the attention gradients before
// they are picked apart) stays in the Op, never in a Value handed to
// gorgonia, because the tape machine writes into the Values of dead nodes
// (unsafe in-place ops, reused registers). Each Op reuses its output
// buffer from run to run.
//
// Shapes are 2-D matrices (rows x width) and 1-D vectors; the loss is a
// scalar. Ops that need integer data (item ids, packed row indices, batch
// lengths, timestamps, sampled negatives) hold it in the Op, so a graph is
// built for one batch.
//
// gorgonia v0.9.18 pitfalls: its InverseSqrt, Dropout and ByIndices on a
// 1-D table have wrong gradients, so none is used; dropout and the gather
// and scatter of rows are Ops of this package.
package graph
