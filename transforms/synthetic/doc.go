// Package synthetic generates genrec's embedded default data set: a
// seeded, fully deterministic stream of user-item interactions with a
// planted sequential pattern, so that `make demo` and the unit tests run
// with no download and a sequential model has something measurable to
// learn.
//
// # Generative story
//
// With I items, C categories and U users (ids "i1".."iI", "c1".."cC",
// "u1".."uU"):
//
//	cat(i)    items are dealt round-robin, in a seeded random order, to the
//	          C categories, so every category holds ⌊I/C⌋ or ⌈I/C⌉ items
//	pop(i)    ∝ 1/rank(i) within cat(i)          (Zipf, exponent 1)
//	succ(i)   the next item on a seeded random cycle through cat(i);
//	          succ(i) ≠ i because every category has at least 3 items
//	F(u)      2 or 3 favourite categories, drawn without replacement with
//	          P(c) ∝ 1/c (category c1 is the most popular)
//	θ(u)      taste over F(u): θ_f ∝ w_f, w_f ~ Uniform{1..8}   (Dirichlet-ish)
//	n(u)      = MinLength + Geometric, mean MeanLength, capped at MaxLength
//	x_1       ~ Taste(u)
//	x_t       = succ(x_{t-1})                      with probability PatternStrength
//	          ~ Taste(u) \ {x_{t-1}, succ(x_{t-1})} otherwise (by rejection)
//	Taste(u): c ~ Uniform(categories) with probability Exploration,
//	          c ~ θ(u) otherwise; then i ~ pop(·) within c
//	rating_t  = 1 + Uniform{0..3} + [cat(x_t) ∈ F(u)]       (1..5)
//	ts_1      = Start + Uniform[0, Span)                     (seconds)
//	ts_t      = ts_{t-1}                           with probability TieProb
//	          = ts_{t-1} + Uniform{1..2·MeanGap−1} otherwise
//
// Because the non-pattern draw excludes succ(x_{t-1}), the fraction of
// consecutive pairs (a, b) with b = succ(a) has expectation exactly
// PatternStrength, and a first-order Markov predictor (FPMC's Markov-chain
// part, Rendle et al., WWW 2010) beats item popularity by a wide margin;
// both properties are tested. The previous item is never repeated
// immediately.
//
// # Determinism
//
// The same Config, Seed included, gives byte-identical output on every
// machine and Go version: every random choice is integer arithmetic on
// math/rand/v2's PCG-DXSM stream (whose algorithm is fixed), not on
// rand.Rand's helpers or on floating-point sampling, and no map is
// iterated. Each user has an independent stream derived from (Seed, user
// index), so one user's events do not depend on the others'.
//
// Generate streams events in O(Items) memory, so data sets of 10⁶–10⁷
// events need no large buffers.
package synthetic
