#!/usr/bin/env python3
"""PyTorch reference and CPU benchmark of genrec's HSTU (and its SASRec baseline).

Self-contained: needs only Python 3 and torch (Debian: apt install python3-torch
libopenblas0-pthread). Two modes:

  bench      times full training steps (or, with --inference, full-catalogue
             top-10 retrieval) on random data and prints one JSON line.
  reference  float64, dropout 0: reads in.json (weights and inputs), writes
             out.json (user embeddings, loss, gradient of the loss w.r.t. every
             weight). models/hstu/torch_test.go drives it; the JSON format is
             fixed (see reference_main). `reference --check` is a self-test.

HSTU (/work/shared/DESIGN.md "HSTU"; Zhai et al. 2024; reference code
facebookresearch/generative-recommenders research/modeling/sequential/hstu.py).
Shapes: B users, L = padded length (N of the paper), d, H heads, dqk, dv.

  x0 = Dropout(item_emb[ids] * sqrt(d) + pos_emb[0:L]);  rows i >= len zeroed
  per layer, on x (B, L, d):
    n = LayerNorm(x)                         no affine, eps 1e-6
    U, V, Q, K = split(SiLU(n @ W_uvqk))     W_uvqk d x (2*H*dv + 2*H*dqk), no
                                             bias; column blocks in the order
                                             U (H*dv), V (H*dv), Q (H*dqk),
                                             K (H*dqk); head h = columns
                                             h*dqk..(h+1)*dqk of its block
    s_ij = scale * <q_i, k_j> + pos_bias[i - j]
           + time_bias[bucket(ts_query_i - ts_j)]        (per head, rab shared)
    bucket(dt) = clamp(floor(ln(max(|dt|, 1)) / 0.301), 0, 128)
    ts_query_i = timestamp of the item that position i predicts (the next one)
    A_ij = SiLU(s_ij) / L   for j <= i, j < len, i < len; else 0   (no softmax)
    O = A V per head, heads concatenated -> (B, L, H*dv)
    y = Dropout(U * LayerNorm(O)) @ W_o + b_o + x    LayerNorm over all H*dv,
                                                      no affine; W_o (H*dv) x d
    x = y with padding rows zeroed
  user_emb = x / max(||x||, 1e-12) per row

SASRec baseline (Kang & McAuley 2018, arXiv 1808.09781), built the same way
as genrec's models/sasrec so the two engines time the same network:

  x0 = Dropout(item_emb[ids] * sqrt(d) + pos_emb[0:L]);  padding rows zeroed
  per block:
    a = x + Dropout(MHA(LayerNorm(x)))       MHA = nn.MultiheadAttention:
                                             in-projection d -> 3d (bias),
                                             H heads of d/H, causal softmax
                                             attention with a key-padding
                                             mask, out-projection d -> d (bias)
    y = a + Dropout(Linear_2(GELU(Linear_1(LayerNorm(a)))))   Linear d -> d
    x = y with padding rows zeroed
  user_emb = L2normalise(LayerNorm(x)), padding rows zeroed
  All LayerNorms without affine parameters, eps 1e-6 (as genrec's Go SASRec
  and HSTU); dropout acts on the attention block's output, not on the
  attention weights.

Loss (both models): sampled softmax at every position with a target
(pos > 0): items_n = F.normalize(item_emb) (eps 1e-12),
  s_pos = <u, items_n[pos]> / tau,  s_neg_j = <u, items_n[neg_j]> / tau,
  negatives torch.randint(1, items, (B*L, K)), accidental hits
  (neg_j == pos) masked with -1e9 (exactly zero weight, also in float64),
  loss_r = -s_pos + logsumexp(s_pos, s_neg),  loss = mean over rows with pos > 0.
Optimiser: AdamW(lr 1e-3, betas (0.9, 0.98), weight decay 0).
"""

import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time

NUM_TIME_BUCKETS = 128
NEG_FILL = -1e9
DEFAULT_THREADS = 2


def _threads_from_argv(argv):
    """(--threads, --blas-threads) of bench mode (reference mode: 1, 1), read
    before torch loads."""
    if len(argv) < 2 or argv[1] != "bench":
        return 1, 1
    got = {}
    for i, arg in enumerate(argv):
        for name in ("--threads", "--blas-threads"):
            if arg == name and i + 1 < len(argv):
                got[name] = int(argv[i + 1])
            elif arg.startswith(name + "="):
                got[name] = int(arg.split("=", 1)[1])
    t = got.get("--threads", DEFAULT_THREADS)
    return t, got.get("--blas-threads", t)


# OpenBLAS (Debian's libopenblas0-pthread, torch's BLAS through the libblas.so.3
# alternative) keeps its own thread pool that torch.set_num_threads does not
# reach: size it (and OpenMP's) before torch is loaded.
_THREADS, _BLAS_THREADS = _threads_from_argv(sys.argv)
os.environ["OPENBLAS_NUM_THREADS"] = str(_BLAS_THREADS)
os.environ["OMP_NUM_THREADS"] = str(_THREADS)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(_THREADS)  # Debian's build reads 1 unless told


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def valid_mask(lens, L):
    """(B, L) bool: position i of user b is real (i < lens[b])."""
    return torch.arange(L, device=lens.device).unsqueeze(0) < lens.unsqueeze(1)


def time_buckets(ts, ts_query, dtype):
    """(B, L, L) long: bucket(ts_query[b, i] - ts[b, j])."""
    dt = (ts_query.unsqueeze(2) - ts.unsqueeze(1)).abs_().clamp_(min=1)
    b = torch.floor(torch.log(dt.to(dtype)) / 0.301)
    return b.clamp_(0, NUM_TIME_BUCKETS).long()


def make_input_params(items, L, d, dtype):
    item_emb = nn.Parameter(torch.empty(items, d, dtype=dtype).normal_(0.0, 0.02))
    pos_emb = nn.Parameter(torch.empty(L, d, dtype=dtype).normal_(0.0, 0.02))
    return item_emb, pos_emb


def embed_input(item_emb, pos_emb, ids, valid, p, training):
    L, d = ids.shape[1], item_emb.shape[1]
    x = F.embedding(ids, item_emb) * math.sqrt(d) + pos_emb[:L]
    x = F.dropout(x, p, training)
    return x * valid.unsqueeze(-1).to(x.dtype)


def l2_normalize(x):
    return F.normalize(x, p=2.0, dim=-1, eps=1e-12)


def sampled_softmax_loss(user, item_emb, pos, neg, tau, neg_impl="gather"):
    """user (R, d) L2-normalised, pos (R,), neg (R, K). Mean over pos > 0."""
    keep = pos > 0
    if not bool(keep.all()):
        idx = keep.nonzero().squeeze(1)
        user, pos, neg = user[idx], pos[idx], neg[idx]
    items_n = l2_normalize(item_emb)
    s_pos = (user * F.embedding(pos, items_n)).sum(-1)
    if neg_impl == "gather":
        # per-position negatives gathered: (R, K, d) x (R, d, 1)
        s_neg = torch.bmm(F.embedding(neg, items_n), user.unsqueeze(-1)).squeeze(-1)
    else:
        # same numbers through one dense matmul against the whole catalogue
        s_neg = (user @ items_n.t()).gather(1, neg)
    logits = torch.cat([s_pos.unsqueeze(1), s_neg], dim=1) / tau
    logits = logits.masked_fill(
        torch.cat([torch.zeros_like(pos, dtype=torch.bool).unsqueeze(1), neg == pos.unsqueeze(1)], 1),
        NEG_FILL)
    # -s_pos + logsumexp(s_pos, s_neg) == cross entropy with target 0
    return F.cross_entropy(logits, torch.zeros_like(pos), reduction="mean")


# ---------------------------------------------------------------------------
# HSTU
# ---------------------------------------------------------------------------


class HSTULayer(nn.Module):
    def __init__(self, d, L, heads, dqk, dv, dropout, scale, eps, dtype):
        super().__init__()
        self.d, self.L, self.h, self.dqk, self.dv = d, L, heads, dqk, dv
        self.p, self.scale, self.eps = dropout, scale, eps
        self.uvqk = nn.Parameter(torch.empty(d, 2 * heads * dv + 2 * heads * dqk, dtype=dtype).normal_(0.0, 0.02))
        self.o_w = nn.Parameter(torch.empty(heads * dv, d, dtype=dtype))
        nn.init.xavier_uniform_(self.o_w)
        self.o_b = nn.Parameter(torch.zeros(d, dtype=dtype))
        self.pos_bias = nn.Parameter(torch.empty(L, dtype=dtype).normal_(0.0, 0.02))
        self.time_bias = nn.Parameter(torch.empty(NUM_TIME_BUCKETS + 1, dtype=dtype).normal_(0.0, 0.02))

    def forward(self, x, attn_mask, rel_pos, buckets, valid):
        """x (B,L,d); attn_mask (B,1,L,L) = mask / L; rel_pos (L,L) = max(i-j,0);
        buckets (B,L,L); valid (B,L,1) in x's dtype."""
        B, L, d = x.shape
        H, dqk, dv = self.h, self.dqk, self.dv
        n = F.layer_norm(x, (d,), eps=self.eps)
        h = F.silu(torch.matmul(n, self.uvqk))
        u, v, q, k = torch.split(h, [H * dv, H * dv, H * dqk, H * dqk], dim=-1)
        q = q.view(B, L, H, dqk).transpose(1, 2)
        k = k.view(B, L, H, dqk).transpose(1, 2)
        v = v.view(B, L, H, dv).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2))  # (B,H,L,L)
        if self.scale != 1.0:
            s = s * self.scale
        rab = self.pos_bias[rel_pos].unsqueeze(0) + self.time_bias[buckets]  # (B,L,L)
        s = s + rab.unsqueeze(1)
        a = F.silu(s) * attn_mask
        o = torch.matmul(a, v).transpose(1, 2).reshape(B, L, H * dv)
        o = F.layer_norm(o, (H * dv,), eps=self.eps)
        z = F.dropout(u * o, self.p, self.training)
        y = torch.addmm(self.o_b, z.reshape(B * L, H * dv), self.o_w).view(B, L, d) + x
        return y * valid


class HSTU(nn.Module):
    def __init__(self, items, L, d, layers, heads, dqk, dv, dropout=0.0, scale=1.0, eps=1e-6,
                 dtype=None):
        super().__init__()
        dtype = dtype or torch.float32
        self.L, self.d, self.p = L, d, dropout
        self.item_emb, self.pos_emb = make_input_params(items, L, d, dtype)
        self.layers = nn.ModuleList(
            [HSTULayer(d, L, heads, dqk, dv, dropout, scale, eps, dtype) for _ in range(layers)])
        i = torch.arange(L)
        self.register_buffer("rel_pos", (i.unsqueeze(1) - i.unsqueeze(0)).clamp(min=0), persistent=False)
        self.register_buffer("causal", i.unsqueeze(1) >= i.unsqueeze(0), persistent=False)

    def forward(self, ids, lens, ts, ts_query):
        B, L = ids.shape
        dtype = self.item_emb.dtype
        valid = valid_mask(lens, L)  # (B,L)
        mask = self.causal.unsqueeze(0) & valid.unsqueeze(2) & valid.unsqueeze(1)
        attn_mask = (mask.to(dtype) / L).unsqueeze(1)  # (B,1,L,L), includes the 1/N
        buckets = time_buckets(ts, ts_query, dtype)
        vf = valid.unsqueeze(-1).to(dtype)
        x = embed_input(self.item_emb, self.pos_emb, ids, valid, self.p, self.training)
        for layer in self.layers:
            x = layer(x, attn_mask, self.rel_pos, buckets, vf)
        return l2_normalize(x)


# ---------------------------------------------------------------------------
# SASRec
# ---------------------------------------------------------------------------


class SASRecBlock(nn.Module):
    def __init__(self, d, heads, dropout, eps, dtype):
        super().__init__()
        self.p, self.eps = dropout, eps
        self.attn = nn.MultiheadAttention(d, heads, dropout=0.0, bias=True, batch_first=True, dtype=dtype)
        self.ffn1 = nn.Linear(d, d, dtype=dtype)
        self.ffn2 = nn.Linear(d, d, dtype=dtype)

    def forward(self, x, causal, key_pad, valid):
        d = x.shape[-1]
        n = F.layer_norm(x, (d,), eps=self.eps)
        a, _ = self.attn(n, n, n, attn_mask=causal, key_padding_mask=key_pad, need_weights=False)
        a = x + F.dropout(a, self.p, self.training)
        f = self.ffn2(F.gelu(self.ffn1(F.layer_norm(a, (d,), eps=self.eps))))
        y = a + F.dropout(f, self.p, self.training)
        return y * valid


class SASRec(nn.Module):
    def __init__(self, items, L, d, layers, heads, dropout=0.0, eps=1e-6, dtype=None):
        super().__init__()
        dtype = dtype or torch.float32
        self.L, self.d, self.p, self.eps = L, d, dropout, eps
        self.item_emb, self.pos_emb = make_input_params(items, L, d, dtype)
        self.blocks = nn.ModuleList([SASRecBlock(d, heads, dropout, eps, dtype) for _ in range(layers)])
        i = torch.arange(L)
        # bool attn_mask: True = not allowed (j > i)
        self.register_buffer("causal", i.unsqueeze(0) > i.unsqueeze(1), persistent=False)

    def forward(self, ids, lens, ts=None, ts_query=None):
        B, L = ids.shape
        valid = valid_mask(lens, L)
        vf = valid.unsqueeze(-1).to(self.item_emb.dtype)
        key_pad = ~valid
        x = embed_input(self.item_emb, self.pos_emb, ids, valid, self.p, self.training)
        for blk in self.blocks:
            x = blk(x, self.causal, key_pad, vf)
        x = F.layer_norm(x, (self.d,), eps=self.eps) * vf
        return l2_normalize(x)


# ---------------------------------------------------------------------------
# bench mode
# ---------------------------------------------------------------------------


def random_batch(B, L, items, gen):
    """Full-length sequences of L+1 items: inputs are the first L, targets the
    last L (a loss at every position); timestamps strictly increasing, gaps of
    1 s .. ~1 day so the time buckets spread; ts_query = next item's time."""
    seq = torch.randint(1, items, (B, L + 1), generator=gen)
    gaps = torch.randint(1, 86400, (B, L + 1), generator=gen)
    t = 978300000 + torch.cumsum(gaps, dim=1)
    return {
        "ids": seq[:, :L].contiguous(), "pos": seq[:, 1:].contiguous(),
        "lens": torch.full((B,), L, dtype=torch.long),
        "ts": t[:, :L].contiguous(), "ts_query": t[:, 1:].contiguous(),
    }


def build_model(a):
    if a.model == "hstu":
        scale = a.scale if a.scale != 0 else 1.0
        return HSTU(a.items, a.len, a.dim, a.layers, a.heads, a.dqk, a.dv, dropout=a.dropout, scale=scale)
    return SASRec(a.items, a.len, a.dim, a.layers, a.heads, dropout=a.dropout)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def bench_main(a):
    if a.threads != torch.get_num_threads():
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    model = build_model(a)
    nparams = sum(p.numel() for p in model.parameters())
    head = {"engine": "pytorch", "torch": torch.__version__, "model": a.model, "threads": torch.get_num_threads(),
            "blas_threads": int(os.environ["OPENBLAS_NUM_THREADS"]),
            "batch": a.batch, "len": a.len, "dim": a.dim, "layers": a.layers, "heads": a.heads}
    if a.model == "hstu":
        head.update({"dqk": a.dqk, "dv": a.dv})
    head.update({"items": a.items, "params": nparams})
    times, cpu = [], []
    load0 = os.getloadavg()[0]
    if a.inference:
        model.eval()
        with torch.no_grad():
            for step in range(a.warmup + a.steps):
                b = random_batch(a.batch, a.len, a.items, gen)
                t0, c0 = time.perf_counter(), time.process_time()
                u = model(b["ids"], b["lens"], b["ts"], b["ts_query"])  # (B,L,d)
                last = u[torch.arange(a.batch), b["lens"] - 1]  # last valid position
                scores = last @ l2_normalize(model.item_emb).t()  # (B, items)
                scores.scatter_(1, b["ids"], float("-inf"))  # history (and id 0 = padding)
                scores[:, 0] = float("-inf")
                top = torch.topk(scores, 10, dim=1).indices
                dt, dc = time.perf_counter() - t0, time.process_time() - c0
                if step >= a.warmup:
                    times.append(dt)
                    cpu.append(dc)
        med = statistics.median(times)
        out = dict(head, mode="inference", ms_per_batch_median=round(med * 1e3, 3),
                   users_per_s=round(a.batch / med, 1), peak_rss_mb=round(peak_rss_mb(), 1))
        assert top.shape == (a.batch, 10)
    else:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98), weight_decay=0.0)
        R = a.batch * a.len
        losses = []
        for step in range(a.warmup + a.steps):
            b = random_batch(a.batch, a.len, a.items, gen)  # data loading: not timed
            t0, c0 = time.perf_counter(), time.process_time()
            u = model(b["ids"], b["lens"], b["ts"], b["ts_query"])
            neg = torch.randint(1, a.items, (R, a.negatives))
            loss = sampled_softmax_loss(u.reshape(R, a.dim), model.item_emb, b["pos"].reshape(R), neg,
                                        a.temperature, a.neg_impl)
            loss.backward()
            opt.step()
            opt.zero_grad(set_to_none=True)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            losses.append(float(loss))
            if step >= a.warmup:
                times.append(dt)
                cpu.append(dc)
        med = statistics.median(times)
        out = dict(head, mode="train", negatives=a.negatives, neg_impl=a.neg_impl,
                   ms_per_step_median=round(med * 1e3, 2), ms_per_step_min=round(min(times) * 1e3, 2),
                   seq_per_s=round(a.batch / med, 1), peak_rss_mb=round(peak_rss_mb(), 1),
                   loss_first=round(losses[0], 4), loss_last=round(losses[-1], 4))
    # CPU seconds the process used per step (all threads) and the 1-minute
    # load average before/after: on a shared machine they show contention.
    out["cpu_s_per_step_median"] = round(statistics.median(cpu), 3)
    out["loadavg_1m"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(out), flush=True)


# ---------------------------------------------------------------------------
# reference mode
# ---------------------------------------------------------------------------


def reference_compute(inp):
    """float64, dropout 0. Returns the out.json dict."""
    c, w, x = inp["config"], inp["weights"], inp["inputs"]
    d, nl, H, dqk, dv, L, items, k = (int(c[n]) for n in ("d", "layers", "heads", "dqk", "dv", "L", "items", "k"))
    eps, tau = float(c["eps"]), float(c["temperature"])
    scale = float(c.get("scale", 0) or 0)
    scale = 1.0 if scale == 0 else scale
    f64, i64 = torch.float64, torch.long
    m = HSTU(items, L, d, nl, H, dqk, dv, dropout=0.0, scale=scale, eps=eps, dtype=f64)
    m.eval()
    with torch.no_grad():
        m.item_emb.copy_(torch.tensor(w["item_emb"], dtype=f64).view(items, d))
        m.pos_emb.copy_(torch.tensor(w["pos_emb"], dtype=f64).view(L, d))
        if len(w["layers"]) != nl:
            raise ValueError("config.layers = %d but %d weight layers" % (nl, len(w["layers"])))
        for ly, lw in zip(m.layers, w["layers"]):
            ly.uvqk.copy_(torch.tensor(lw["uvqk"], dtype=f64).view(d, 2 * H * dv + 2 * H * dqk))
            ly.o_w.copy_(torch.tensor(lw["o_w"], dtype=f64).view(H * dv, d))
            ly.o_b.copy_(torch.tensor(lw["o_b"], dtype=f64).view(d))
            ly.pos_bias.copy_(torch.tensor(lw["pos_bias"], dtype=f64).view(L))
            ly.time_bias.copy_(torch.tensor(lw["time_bias"], dtype=f64).view(NUM_TIME_BUCKETS + 1))
    lens = torch.tensor(x["lens"], dtype=i64)
    B = lens.numel()
    ids = torch.tensor(x["ids"], dtype=i64).view(B, L)
    ts = torch.tensor(x["ts"], dtype=i64).view(B, L)
    tsq = torch.tensor(x["ts_query"], dtype=i64).view(B, L)
    pos = torch.tensor(x["pos"], dtype=i64).view(B * L)
    neg = torch.tensor(x["neg"], dtype=i64).view(B * L, k)
    u = m(ids, lens, ts, tsq)
    loss = sampled_softmax_loss(u.reshape(B * L, d), m.item_emb, pos, neg, tau)
    loss.backward()

    def flat(t):
        return t.detach().reshape(-1).tolist()

    return {
        "user_emb": flat(u),
        "loss": float(loss),
        "grads": {
            "item_emb": flat(m.item_emb.grad), "pos_emb": flat(m.pos_emb.grad),
            "layers": [{"uvqk": flat(ly.uvqk.grad), "o_w": flat(ly.o_w.grad), "o_b": flat(ly.o_b.grad),
                        "pos_bias": flat(ly.pos_bias.grad), "time_bias": flat(ly.time_bias.grad)}
                       for ly in m.layers],
        },
    }


def reference_main(a):
    if a.check:
        return self_check()
    if not a.inp or not a.out:
        sys.exit("usage: hstu_torch.py reference in.json out.json | reference --check")
    with open(a.inp) as f:
        inp = json.load(f)
    out = reference_compute(inp)
    with open(a.out, "w") as f:
        json.dump(out, f)


# --- self-check -------------------------------------------------------------


def random_input(seed, B=4, L=7, d=6, items=13, layers=2, H=2, dqk=3, dv=4, k=5, scale=0.0):
    g = torch.Generator().manual_seed(seed)

    def rn(*shape, std=0.3):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std).reshape(-1).tolist()

    def ri(lo, hi, n):
        return torch.randint(lo, hi, (n,), generator=g).tolist()

    lens = [L, 3, 1, 5][:B] + ri(1, L + 1, max(0, B - 4))
    ids, ts, tsq, pos = [], [], [], []
    for b in range(B):
        for i in range(L):
            real = i < lens[b]
            ids.append(ri(1, items, 1)[0] if real else 0)
            pos.append(ri(1, items, 1)[0] if real else 0)
            # wide, unordered timestamps: negative dt and many buckets
            ts.append(ri(0, 10 ** 9, 1)[0] if real else 0)
            tsq.append(ri(0, 10 ** 9, 1)[0] if real else 0)
    pos[1] = -1  # a real position without a loss
    neg = ri(1, items, B * L * k)
    neg[0] = pos[0]  # accidental hits
    neg[3 * k + 2] = pos[3]
    cols = 2 * H * dv + 2 * H * dqk
    return {
        "config": {"d": d, "layers": layers, "heads": H, "dqk": dqk, "dv": dv, "L": L, "items": items,
                   "eps": 1e-6, "temperature": 0.05, "scale": scale, "k": k},
        "weights": {
            "item_emb": rn(items, d), "pos_emb": rn(L, d),
            "layers": [{"uvqk": rn(d, cols), "o_w": rn(H * dv, d), "o_b": rn(d, std=0.1),
                        "pos_bias": rn(L), "time_bias": rn(NUM_TIME_BUCKETS + 1)} for _ in range(layers)],
        },
        "inputs": {"ids": ids, "lens": lens, "ts": ts, "ts_query": tsq, "pos": pos, "neg": neg},
    }


def naive_forward_loss(inp):
    """DESIGN.md's equations with Python loops over positions (float64), an
    independent check of the vectorised forward and loss."""
    c, w, x = inp["config"], inp["weights"], inp["inputs"]
    d, H, dqk, dv, L, k = (c[n] for n in ("d", "heads", "dqk", "dv", "L", "k"))
    eps, tau = c["eps"], c["temperature"]
    scale = c["scale"] or 1.0
    lens = x["lens"]
    B = len(lens)
    T = lambda v, *s: torch.tensor(v, dtype=torch.float64).view(*s)  # noqa: E731
    item = T(w["item_emb"], c["items"], d)
    posemb = T(w["pos_emb"], L, d)

    def ln(v):
        mu = v.mean()
        return (v - mu) / math.sqrt(float(((v - mu) ** 2).mean()) + eps)

    def silu(z):
        return z / (1 + math.exp(-z))

    def bucket(dt):
        return min(max(int(math.floor(math.log(max(abs(dt), 1)) / 0.301)), 0), NUM_TIME_BUCKETS)

    users = torch.zeros(B, L, d, dtype=torch.float64)
    for b in range(B):
        n_b = lens[b]
        X = torch.zeros(L, d, dtype=torch.float64)
        for i in range(n_b):
            X[i] = item[x["ids"][b * L + i]] * math.sqrt(d) + posemb[i]
        for lw in w["layers"]:
            W = T(lw["uvqk"], d, -1)
            Ow, Ob = T(lw["o_w"], H * dv, d), T(lw["o_b"], d)
            Y = torch.zeros(L, d, dtype=torch.float64)
            for i in range(n_b):
                hi = torch.tensor([silu(float(z)) for z in ln(X[i]) @ W], dtype=torch.float64)
                Ui = hi[:H * dv]
                Oi = torch.zeros(H * dv, dtype=torch.float64)
                for h in range(H):
                    qi = hi[2 * H * dv + h * dqk:2 * H * dv + (h + 1) * dqk]
                    for j in range(i + 1):
                        hj = torch.tensor([silu(float(z)) for z in ln(X[j]) @ W], dtype=torch.float64)
                        kj = hj[2 * H * dv + H * dqk + h * dqk:2 * H * dv + H * dqk + (h + 1) * dqk]
                        vj = hj[H * dv + h * dv:H * dv + (h + 1) * dv]
                        s = scale * float(qi @ kj) + lw["pos_bias"][i - j] + \
                            lw["time_bias"][bucket(x["ts_query"][b * L + i] - x["ts"][b * L + j])]
                        Oi[h * dv:(h + 1) * dv] += silu(s) / L * vj
                Y[i] = (Ui * ln(Oi)) @ Ow + Ob + X[i]
            X = Y
        for i in range(n_b):
            users[b, i] = X[i] / max(float(X[i].norm()), 1e-12)
    items_n = item / item.norm(dim=1, keepdim=True).clamp(min=1e-12)
    total, cnt = 0.0, 0
    for r in range(B * L):
        p = x["pos"][r]
        if p <= 0:
            continue
        u = users.view(B * L, d)[r]
        sp = float(u @ items_n[p]) / tau
        terms = [sp] + [float(u @ items_n[q]) / tau for q in x["neg"][r * k:(r + 1) * k] if q != p]
        mx = max(terms)
        total += -sp + mx + math.log(sum(math.exp(t - mx) for t in terms))
        cnt += 1
    return users.reshape(-1), total / cnt


def self_check():
    ok = True

    def report(name, err, tol):
        nonlocal ok
        good = err <= tol
        ok &= good
        print("  %-44s max err %.3e  (tol %.0e)  %s" % (name, err, tol, "ok" if good else "FAIL"))

    for seed, scale in ((1, 0.0), (2, 0.5)):
        inp = random_input(seed, scale=scale)
        print("case seed=%d scale=%g: B=4 L=7 d=6 items=13 layers=2 heads=2 dqk=3 dv=4 k=5" % (seed, scale))
        with tempfile.TemporaryDirectory() as tmp:
            ip, op = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
            with open(ip, "w") as f:
                json.dump(inp, f)
            # through the command line, exactly as the Go test calls it
            import subprocess
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "reference", ip, op],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print(r.stdout + r.stderr)
                return 1
            with open(op) as f:
                out = json.load(f)
        users, loss = naive_forward_loss(inp)
        report("user_emb vs loop implementation", float((torch.tensor(out["user_emb"], dtype=torch.float64) - users).abs().max()), 1e-12)
        report("loss vs loop implementation", abs(out["loss"] - loss), 1e-12)
        pad = [b * 7 + i for b, n in enumerate(inp["inputs"]["lens"]) for i in range(n, 7)]
        report("user_emb zero at padding", max(abs(out["user_emb"][r * 6 + j]) for r in pad for j in range(6)), 0)

        # central finite differences of the loss on sampled coordinates of every weight
        def loss_of(inp2):
            return reference_compute(inp2)["loss"]

        g = torch.Generator().manual_seed(100 + seed)
        h = 1e-6
        targets = [("item_emb", None), ("pos_emb", None)]
        for li in range(inp["config"]["layers"]):
            targets += [(n, li) for n in ("uvqk", "o_w", "o_b", "pos_bias", "time_bias")]
        for name, li in targets:
            wv = inp["weights"][name] if li is None else inp["weights"]["layers"][li][name]
            gv = out["grads"][name] if li is None else out["grads"]["layers"][li][name]
            if name == "time_bias":  # the buckets actually used, plus unused ones (grad 0)
                coords = sorted(set([i for i, v in enumerate(gv) if v != 0][:6] + [128]))
            else:
                coords = torch.randperm(len(wv), generator=g)[:6].tolist()
            err = 0.0
            for ci in coords:
                old = wv[ci]
                wv[ci] = old + h
                lp = loss_of(inp)
                wv[ci] = old - h
                lm = loss_of(inp)
                wv[ci] = old
                fd = (lp - lm) / (2 * h)
                err = max(err, abs(fd - gv[ci]) / (1 + abs(gv[ci])))
            report("grad %s%s (finite diff, %d coords)" % (name, "" if li is None else "[%d]" % li, len(coords)),
                   err, 1e-6)

    # torch.autograd.gradcheck on whole weight tensors of a smaller case
    inp = random_input(3, B=2, L=4, d=4, items=7, layers=1, H=2, dqk=2, dv=2, k=3, scale=0.0)

    def fn(uvqk, time_bias, item_emb):
        c = inp["config"]
        m = HSTU(c["items"], c["L"], c["d"], 1, c["heads"], c["dqk"], c["dv"], dtype=torch.float64)
        ly = m.layers[0]
        lw = inp["weights"]["layers"][0]
        del m.item_emb, ly.uvqk, ly.time_bias
        m.item_emb, ly.uvqk, ly.time_bias = item_emb, uvqk, time_bias
        with torch.no_grad():
            m.pos_emb.copy_(torch.tensor(inp["weights"]["pos_emb"]).view_as(m.pos_emb))
            ly.o_w.copy_(torch.tensor(lw["o_w"]).view_as(ly.o_w))
            ly.o_b.copy_(torch.tensor(lw["o_b"]))
            ly.pos_bias.copy_(torch.tensor(lw["pos_bias"]))
        x = inp["inputs"]
        B, L = len(x["lens"]), c["L"]
        T = lambda v, *s: torch.tensor(v, dtype=torch.long).view(*s)  # noqa: E731
        u = m(T(x["ids"], B, L), T(x["lens"], B), T(x["ts"], B, L), T(x["ts_query"], B, L))
        return sampled_softmax_loss(u.reshape(B * L, -1), m.item_emb, T(x["pos"], B * L), T(x["neg"], B * L, c["k"]),
                                    c["temperature"])

    c, lw = inp["config"], inp["weights"]["layers"][0]
    args = (torch.tensor(lw["uvqk"], dtype=torch.float64).view(c["d"], -1).requires_grad_(),
            torch.tensor(lw["time_bias"], dtype=torch.float64).requires_grad_(),
            torch.tensor(inp["weights"]["item_emb"], dtype=torch.float64).view(c["items"], c["d"]).requires_grad_())
    gc = torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-7, rtol=1e-5)
    print("torch.autograd.gradcheck(loss; uvqk, time_bias, item_emb) on B=2 L=4 d=4:", "ok" if gc else "FAIL")
    ok &= bool(gc)
    print("self-check:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


# ---------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("bench", help="time training steps or inference on random data; prints one JSON line")
    b.add_argument("--model", choices=("hstu", "sasrec"), default="hstu")
    b.add_argument("--batch", type=int, default=128)
    b.add_argument("--len", type=int, default=200)
    b.add_argument("--dim", type=int, default=50)
    b.add_argument("--layers", type=int, default=2)
    b.add_argument("--heads", type=int, default=1)
    b.add_argument("--dqk", type=int, default=50)
    b.add_argument("--dv", type=int, default=50)
    b.add_argument("--items", type=int, default=3706)
    b.add_argument("--negatives", type=int, default=128)
    b.add_argument("--dropout", type=float, default=0.2)
    b.add_argument("--temperature", type=float, default=0.05)
    b.add_argument("--scale", type=float, default=0.0, help="HSTU: multiply QK^T by this (0 = no scaling)")
    b.add_argument("--neg-impl", choices=("gather", "dense"), default="gather",
                   help="gather: per-position negative embeddings (default); dense: u @ items^T then gather scores")
    b.add_argument("--steps", type=int, default=20)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--threads", type=int, default=2)
    b.add_argument("--blas-threads", type=int, default=None,
                   help="OpenBLAS pool size (OPENBLAS_NUM_THREADS); default = --threads")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--inference", action="store_true", help="time full-catalogue top-10 for --batch users")
    r = sub.add_parser("reference", help="float64 forward/loss/gradients: reference in.json out.json")
    r.add_argument("inp", nargs="?")
    r.add_argument("out", nargs="?")
    r.add_argument("--check", action="store_true", help="self-test against loops and finite differences")
    a = ap.parse_args(argv)
    if a.mode == "bench":
        if a.model == "sasrec" and a.dim % a.heads:
            ap.error("sasrec: --dim must be a multiple of --heads")
        return bench_main(a)
    return reference_main(a)


if __name__ == "__main__":
    sys.exit(main())
