// Package ranking is the ranking (click-through) task: HSTU as a click
// model over labelled impressions, a mean-pooled-history baseline under
// the same head, M-FALCON scoring of many candidates per user, and the
// trainer that fits either with early stopping on validation AUC.
package ranking
