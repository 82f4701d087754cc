/* Body of the fused TV-softmax kernels, included once per floating type by _kernels.c with
 * REAL, NAME(x), EXP and SQRT defined. Layouts: o, A (B, C, H, W); duals (B, C, 2, H, W).
 * "Row buffers" hold one image row of every class, C x W. */

/* dst[c][j] = (div eta)[c, i, j] for row i, with the missing terms at the border. */
static void NAME(div_row)(const REAL *eta, REAL *dst, long C, long H, long W, long i) {
    const long hw = H * W;
    const REAL down = i < H - 1 ? 1 : 0, up = i > 0 ? 1 : 0;
    for (long c = 0; c < C; ++c) {
        const REAL *e0 = eta + (2 * c) * hw + i * W;
        const REAL *e0_up = i > 0 ? e0 - W : e0;
        const REAL *e1 = eta + (2 * c + 1) * hw + i * W;
        REAL *d = dst + c * W;
        d[0] = down * e0[0] - up * e0_up[0] + e1[0];
        for (long j = 1; j < W - 1; ++j) d[j] = down * e0[j] - up * e0_up[j] + e1[j] - e1[j - 1];
        d[W - 1] = down * e0[W - 1] - up * e0_up[W - 1] - e1[W - 2];
    }
}

/* In place over C x W values at row[c * class_stride + j]: softmax over c. scratch holds 2W. */
static void NAME(softmax_row)(REAL *row, long class_stride, long C, long W, REAL *scratch) {
    REAL *row_max = scratch, *row_sum = scratch + W;
    memcpy(row_max, row, sizeof(REAL) * W);
    for (long c = 1; c < C; ++c) {
        const REAL *rc = row + c * class_stride;
        for (long j = 0; j < W; ++j) row_max[j] = rc[j] > row_max[j] ? rc[j] : row_max[j];
    }
    for (long j = 0; j < W; ++j) row_sum[j] = 0;
    for (long c = 0; c < C; ++c) {
        REAL *rc = row + c * class_stride;
        for (long j = 0; j < W; ++j) {
            rc[j] = EXP(rc[j] - row_max[j]);
            row_sum[j] += rc[j];
        }
    }
    for (long j = 0; j < W; ++j) row_sum[j] = (REAL)1 / row_sum[j];
    for (long c = 0; c < C; ++c) {
        REAL *rc = row + c * class_stride;
        for (long j = 0; j < W; ++j) rc[j] *= row_sum[j];
    }
}

/* Row i of softmax_C(o - lam * div(eta)) into row[c * class_stride + j] (eta NULL: zero dual).
 * div_scratch holds C x W, scratch 2W. */
static void NAME(primal_row)(const REAL *o, const REAL *eta, REAL *row, long class_stride,
                             long C, long H, long W, long i, REAL lam, REAL *div_scratch,
                             REAL *scratch) {
    const long hw = H * W;
    if (eta) NAME(div_row)(eta, div_scratch, C, H, W, i);
    for (long c = 0; c < C; ++c) {
        const REAL *oc = o + c * hw + i * W;
        REAL *rc = row + c * class_stride;
        if (!eta) {
            memcpy(rc, oc, sizeof(REAL) * W);
            continue;
        }
        const REAL *d = div_scratch + c * W;
        for (long j = 0; j < W; ++j) rc[j] = oc[j] - lam * d[j];
    }
    NAME(softmax_row)(row, class_stride, C, W, scratch);
}

/* Row i of xi = eta_old - step * grad(A) and eta_new = P(xi), given rows i and i+1 of A;
 * on the last row a_down is a_here, which makes the row difference zero. eta_old NULL is a
 * zero dual; xi_store may be NULL. Branches stay outside the inner loops so they vectorize. */
static void NAME(dual_row)(const REAL *eta_old, REAL *eta_new, REAL *xi_store,
                           const REAL *a_here, const REAL *a_down, long C, long H, long W, long i,
                           REAL step) {
    const long hw = H * W;
    for (long c = 0; c < C; ++c) {
        const REAL *ah = a_here + c * W, *ad = a_down + c * W;
        const long off = (2 * c) * hw + i * W;
        REAL *n0 = eta_new + off, *n1 = n0 + hw;
        for (long j = 0; j < W; ++j) n0[j] = -step * (ad[j] - ah[j]);
        for (long j = 0; j < W - 1; ++j) n1[j] = -step * (ah[j + 1] - ah[j]);
        n1[W - 1] = 0;
        if (eta_old) {
            const REAL *o0 = eta_old + off, *o1 = o0 + hw;
            for (long j = 0; j < W; ++j) {
                n0[j] += o0[j];
                n1[j] += o1[j];
            }
        }
        if (xi_store) {
            memcpy(xi_store + off, n0, sizeof(REAL) * W);
            memcpy(xi_store + off + hw, n1, sizeof(REAL) * W);
        }
        for (long j = 0; j < W; ++j) {
            REAL n2 = n0[j] * n0[j] + n1[j] * n1[j];
            REAL r = n2 > (REAL)1 ? (REAL)1 / SQRT(n2) : (REAL)1;
            n0[j] *= r;
            n1[j] *= r;
        }
    }
}

/* One thread's row buffers for its chunk: two primal rows of A as a ring (here = row i,
 * down = row i + 1), in the backward also their softmax adjoints (gz_here, gz_down), div eta
 * of one row, and 2W of scratch for the softmax. */
typedef struct {
    REAL *memory, *here, *down, *gz_here, *gz_down, *div_scratch, *scratch;
} NAME(row_ring);

/* Returns 0, or 1 if out of memory; with_adjoint adds gz_here and gz_down. */
static int NAME(ring_open)(NAME(row_ring) *ring, long C, long W, int with_adjoint) {
    const long blocks = with_adjoint ? 5 : 3;
    REAL *memory = (REAL *)malloc(sizeof(REAL) * (blocks * C * W + 2 * W));
    ring->memory = memory;
    if (!memory) return 1;
    ring->here = memory;
    ring->down = memory + C * W;
    ring->div_scratch = memory + 2 * C * W;
    ring->gz_here = with_adjoint ? memory + 3 * C * W : NULL;
    ring->gz_down = with_adjoint ? memory + 4 * C * W : NULL;
    ring->scratch = memory + blocks * C * W;
    return 0;
}

/* One row down: row i + 1 becomes the current row, its buffer free for row i + 2. */
static void NAME(ring_advance)(NAME(row_ring) *ring) {
    REAL *tmp = ring->here;
    ring->here = ring->down;
    ring->down = tmp;
    tmp = ring->gz_here;
    ring->gz_here = ring->gz_down;
    ring->gz_down = tmp;
}

/* Rows [r0, r1) of one item of eta_new = P(eta_old - step * grad(softmax_C(o - lam div eta_old))),
 * the pre-projection duals into xi_store unless it is NULL; eta_old NULL is a zero dual. Each row
 * of A is computed once: row i + 1 is row i's "down" and then the next step's "here". */
static void NAME(dual_sweep)(const REAL *o, const REAL *eta_old, REAL *eta_new, REAL *xi_store,
                             NAME(row_ring) *ring, long C, long H, long W, long r0, long r1,
                             REAL lam, REAL step) {
    NAME(primal_row)(o, eta_old, ring->here, W, C, H, W, r0, lam, ring->div_scratch, ring->scratch);
    for (long i = r0; i < r1; ++i) {
        const int has_down = i < H - 1;
        if (has_down)
            NAME(primal_row)(o, eta_old, ring->down, W, C, H, W, i + 1, lam, ring->div_scratch,
                             ring->scratch);
        NAME(dual_row)(eta_old, eta_new, xi_store, ring->here, has_down ? ring->down : ring->here,
                       C, H, W, i, step);
        NAME(ring_advance)(ring);
    }
}

/* `iters` iterations of Eq. 3.8 for all B items from the dual eta_start (NULL: zero), which goes
 * on bit for bit as the run that reached it; probabilities into `out` (NULL: not computed, for
 * the backward's checkpoints and segments, which need the duals alone), the last dual in eta_a
 * (iters odd) or eta_b (even, > 0): (B, C, 2, H, W) buffers, not eta_start. xi_store: NULL, or
 * (iters, B, C, 2, H, W) to keep the pre-projection duals for the backward pass. Returns 0, or
 * 1 if out of memory. */
int NAME(tv_softmax_forward)(const REAL *o, const REAL *eta_start, REAL *eta_a, REAL *eta_b,
                             REAL *xi_store, REAL *out, long B, long C, long H, long W, REAL lam,
                             REAL step, long iters, int threads) {
    const long hw = H * W, dual = 2 * C * hw, chunks = ROW_CHUNKS(threads);
    const REAL *eta_old = eta_start;
    REAL *eta_new = eta_a;
    int failed = 0;
    for (long t = 0; t <= iters && !failed; ++t) {
        const int last = t == iters;
        if (last && !out) break;
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
        for (long b = 0; b < B; ++b) {
            for (long k = 0; k < chunks; ++k) {
                long r0, r1;
                NAME(row_ring) ring;
                chunk_rows(H, k, chunks, &r0, &r1);
                if (r0 >= r1) continue;
                if (NAME(ring_open)(&ring, C, W, 0)) {
                    failed = 1;
                    continue;
                }
                const REAL *ob = o + b * C * hw;
                const REAL *eo = eta_old ? eta_old + b * dual : NULL;
                if (last) /* the probabilities at the final dual */
                    for (long i = r0; i < r1; ++i)
                        NAME(primal_row)(ob, eo, out + b * C * hw + i * W, hw, C, H, W, i, lam,
                                         ring.div_scratch, ring.scratch);
                else
                    NAME(dual_sweep)(ob, eo, eta_new + b * dual,
                                     xi_store ? xi_store + (t * B + b) * dual : NULL, &ring, C, H, W,
                                     r0, r1, lam, step);
                free(ring.memory);
            }
        }
        if (!last) {
            eta_old = eta_new;
            eta_new = eta_new == eta_a ? eta_b : eta_a;
        }
    }
    return failed;
}

/* eta = P(xi) over n planes of 2-vectors (two planes of hw values each). */
static void NAME(project_planes)(const REAL *xi, REAL *eta, long n, long hw, int threads) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long p = 0; p < n; ++p) {
        const REAL *x0 = xi + 2 * p * hw, *x1 = x0 + hw;
        REAL *e0 = eta + 2 * p * hw, *e1 = e0 + hw;
        for (long j = 0; j < hw; ++j) {
            REAL n2 = x0[j] * x0[j] + x1[j] * x1[j];
            REAL r = n2 > (REAL)1 ? (REAL)1 / SQRT(n2) : (REAL)1;
            e0[j] = x0[j] * r;
            e1[j] = x1[j] * r;
        }
    }
}

/* Quantities of row i in the reverse sweep of iteration k: A^k, and gz = S'(z^k)^T gA^k with
 * gA^k = grad_out (k = T) or step * div(g_xi^{k+1}) (k < T). With `own`, also accumulates
 * grad_o += gz and returns -<gz, div eta^k> for lambda's gradient. */
static REAL NAME(reverse_row)(const REAL *o, const REAL *eta, const REAL *grad_out,
                              const REAL *g_xi_next, REAL *grad_o, REAL *a_row, REAL *gz_row,
                              REAL *div_scratch, REAL *scratch, long C, long H, long W, long i,
                              REAL lam, REAL step, int own) {
    const long hw = H * W;
    NAME(primal_row)(o, eta, a_row, W, C, H, W, i, lam, div_scratch, scratch);
    REAL lam_term = 0;
    /* gA into gz_row, then the softmax adjoint in place. */
    if (grad_out) {
        for (long c = 0; c < C; ++c) memcpy(gz_row + c * W, grad_out + c * hw + i * W, sizeof(REAL) * W);
    } else {
        NAME(div_row)(g_xi_next, gz_row, C, H, W, i);
        for (long j = 0; j < C * W; ++j) gz_row[j] *= step;
    }
    REAL *dot = scratch;
    for (long j = 0; j < W; ++j) dot[j] = 0;
    for (long c = 0; c < C; ++c)
        for (long j = 0; j < W; ++j) dot[j] += a_row[c * W + j] * gz_row[c * W + j];
    for (long c = 0; c < C; ++c)
        for (long j = 0; j < W; ++j) gz_row[c * W + j] = a_row[c * W + j] * (gz_row[c * W + j] - dot[j]);
    if (own) { /* div_scratch still holds div(eta) of row i from primal_row */
        for (long c = 0; c < C; ++c) {
            REAL *go = grad_o + c * hw + i * W;
            const REAL *g = gz_row + c * W, *d = div_scratch + c * W;
            for (long j = 0; j < W; ++j) {
                go[j] += g[j];
                if (eta) lam_term -= g[j] * d[j];
            }
        }
    }
    return lam_term;
}

/* Row i of iteration k's dual adjoint, from rows i and i+1 of A^k and gz (a_down = a_here and
 * gz_down = gz_here on the last row): step's gradient term -<g_xi^{k+1}, grad A^k> into
 * *step_sum (g_next NULL at k = T: no term), and for k > 0 (xi_k not NULL)
 * g_xi^k = P'(xi^k)^T (lam * grad(gz) + g_xi^{k+1}) into g_cur. */
static void NAME(dual_adjoint_row)(const REAL *xi_k, const REAL *g_next, REAL *g_cur,
                                   const REAL *a_here, const REAL *a_down, const REAL *gz_here,
                                   const REAL *gz_down, long C, long H, long W, long i, REAL lam,
                                   double *step_sum) {
    const long hw = H * W;
    double step_total = *step_sum; /* a local, which the compiler keeps in a register */
    for (long c = 0; c < C; ++c) {
        const long off = (2 * c) * hw + i * W;
        const REAL *ah = a_here + c * W, *ad = a_down + c * W;
        const REAL *gh = gz_here + c * W, *gd = gz_down + c * W;
        const REAL *gn0 = g_next ? g_next + off : NULL;
        for (long j = 0; j < W; ++j) {
            const REAL da1 = j < W - 1 ? ah[j + 1] - ah[j] : (REAL)0;
            if (gn0) step_total -= gn0[j] * (ad[j] - ah[j]) + gn0[j + hw] * da1;
        }
        if (!xi_k) continue;
        const REAL *x0 = xi_k + off, *x1 = x0 + hw;
        REAL *out0 = g_cur + off, *out1 = out0 + hw;
        for (long j = 0; j < W; ++j) {
            REAL h0 = lam * (gd[j] - gh[j]) + (gn0 ? gn0[j] : 0);
            REAL h1 = (j < W - 1 ? lam * (gh[j + 1] - gh[j]) : (REAL)0) + (gn0 ? gn0[j + hw] : 0);
            REAL n2 = x0[j] * x0[j] + x1[j] * x1[j];
            if (n2 > (REAL)1) {
                REAL r = (REAL)1 / SQRT(n2);
                REAL radial = (x0[j] * h0 + x1[j] * h1) * r * r * r;
                out0[j] = h0 * r - x0[j] * radial;
                out1[j] = h1 * r - x1[j] * radial;
            } else {
                out0[j] = h0;
                out1[j] = h1;
            }
        }
    }
    *step_sum = step_total;
}

/* Rows [r0, r1) of one item in the reverse sweep of iteration k (pointers at the item; eta and
 * xi_k NULL at k = 0, grad_out NULL below k = T, g_next NULL at k = T): adds gz to grad_o, writes
 * g_xi^k into g_cur and returns lambda's and step's gradient terms of the chunk. Row r1 (the next
 * chunk's first) is recomputed here but owned, for grad_o and lambda, by its own chunk. */
static void NAME(reverse_chunk)(const REAL *o, const REAL *eta, const REAL *xi_k,
                                const REAL *grad_out, const REAL *g_next, REAL *g_cur,
                                REAL *grad_o, NAME(row_ring) *ring, long C, long H, long W,
                                long r0, long r1, REAL lam, REAL step, double *lam_sum,
                                double *step_sum) {
    double lam_total = 0, step_total = 0;
    lam_total += NAME(reverse_row)(o, eta, grad_out, g_next, grad_o, ring->here, ring->gz_here,
                                   ring->div_scratch, ring->scratch, C, H, W, r0, lam, step, 1);
    for (long i = r0; i < r1; ++i) {
        const int has_down = i < H - 1;
        if (has_down)
            lam_total += NAME(reverse_row)(o, eta, grad_out, g_next, grad_o, ring->down,
                                           ring->gz_down, ring->div_scratch, ring->scratch, C, H,
                                           W, i + 1, lam, step, i + 1 < r1);
        NAME(dual_adjoint_row)(xi_k, g_next, g_cur, ring->here, has_down ? ring->down : ring->here,
                               ring->gz_here, has_down ? ring->gz_down : ring->gz_here, C, H, W,
                               i, lam, &step_total);
        NAME(ring_advance)(ring);
    }
    *lam_sum = lam_total;
    *step_sum = step_total;
}

/* Iterations k = last .. first+1 of the reverse sweep of section 3.4 (and k = 0 where first is
 * 0), the gradients of <grad_out, A^T> for the forward above; called once for all T iterations,
 * or segment by segment from the last (_native.py), with the same results bit for bit.
 * xi_seg: xi^(first+1)..xi^last (tv_softmax_forward from the dual eta^first); grad_out is read at
 * k = iters. eta: a (B, C, 2, H, W) workspace. g_xi_a, g_xi_b: the adjoint duals, carried between
 * segments; *g_next says which holds g_xi^(last+1) on entry and g_xi^(first+1) on return (-1:
 * none yet, 0: a, 1: b). grad_o (B, C, H, W) and partial (2 x B x ROW_CHUNKS(threads) sums for
 * lambda and the step, per chunk, added in a fixed order so that backward is bit-reproducible)
 * are accumulated: zero them before the first segment. Returns 0, or 1 if out of memory. */
int NAME(tv_softmax_backward_range)(const REAL *o, const REAL *xi_seg, long first, long last,
                                    const REAL *grad_out, REAL *eta, REAL *g_xi_a, REAL *g_xi_b,
                                    int *g_next_in, REAL *grad_o, double *partial, long B, long C,
                                    long H, long W, REAL lam, REAL step, long iters, int threads) {
    const long hw = H * W, chunks = ROW_CHUNKS(threads), dual = 2 * C * hw;
    int failed = 0;
    REAL *g_next = *g_next_in < 0 ? NULL : (*g_next_in == 0 ? g_xi_a : g_xi_b);
    REAL *g_cur = g_next == g_xi_a ? g_xi_b : g_xi_a;
    for (long k = last; k >= (first > 0 ? first + 1 : 0) && !failed; --k) {
        const REAL *xi_k = k > 0 ? xi_seg + (k - first - 1) * B * dual : NULL;
        if (xi_k) NAME(project_planes)(xi_k, eta, B * C, hw, threads); /* eta^k = P(xi^k) */
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
        for (long b = 0; b < B; ++b) {
            for (long q = 0; q < chunks; ++q) {
                long r0, r1;
                NAME(row_ring) ring;
                chunk_rows(H, q, chunks, &r0, &r1);
                if (r0 >= r1) continue;
                if (NAME(ring_open)(&ring, C, W, 1)) {
                    failed = 1;
                    continue;
                }
                double lam_sum, step_sum;
                NAME(reverse_chunk)(o + b * C * hw, xi_k ? eta + b * dual : NULL,
                                    xi_k ? xi_k + b * dual : NULL,
                                    k == iters ? grad_out + b * C * hw : NULL,
                                    g_next ? g_next + b * dual : NULL, g_cur + b * dual,
                                    grad_o + b * C * hw, &ring, C, H, W, r0, r1, lam, step,
                                    &lam_sum, &step_sum);
                free(ring.memory);
                partial[2 * (b * chunks + q)] += lam_sum;
                partial[2 * (b * chunks + q) + 1] += step_sum;
            }
        }
        if (k > 0) {
            g_next = g_cur;
            g_cur = g_cur == g_xi_a ? g_xi_b : g_xi_a;
        }
    }
    *g_next_in = g_next == NULL ? -1 : (g_next == g_xi_a ? 0 : 1);
    return failed;
}

/* The operator of the implicit backward's adjoint system (_implicit.py):
 *   out = y - K(K y + sl * grad(J_S div(K y))),  K x = (x - u (u . x)) * scale per 2-vector,
 * J_S the softmax Jacobian at A. u (B, C, 2, H, W) is the unit direction on active edges and 0
 * elsewhere, scale (B, C, H, W) is 1 / sqrt(1 + s |grad A|) on active edges and 1 elsewhere.
 * ky (B, C, 2, H, W) and jbuf (B, C, H, W) are scratch. Three passes, each parallel over rows. */
int NAME(tv_adjoint_apply)(const REAL *A, const REAL *u, const REAL *scale, const REAL *y,
                           REAL *ky, REAL *jbuf, REAL *out, long B, long C, long H, long W,
                           REAL sl, int threads) {
    const long hw = H * W;
    int failed = 0;
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
    for (long bc = 0; bc < B * C; ++bc) {
        for (long i = 0; i < H; ++i) {
            const long o0 = (2 * bc) * hw + i * W, o1 = o0 + hw, s0 = bc * hw + i * W;
            for (long j = 0; j < W; ++j) {
                const REAL t = u[o0 + j] * y[o0 + j] + u[o1 + j] * y[o1 + j];
                ky[o0 + j] = (y[o0 + j] - u[o0 + j] * t) * scale[s0 + j];
                ky[o1 + j] = (y[o1 + j] - u[o1 + j] * t) * scale[s0 + j];
            }
        }
    }
#pragma omp parallel num_threads(threads)
    {
        REAL *d = (REAL *)malloc(sizeof(REAL) * (size_t)(C * W + W));
        if (!d) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static) collapse(2)
        for (long b = 0; b < B; ++b) {
            for (long i = 0; i < H; ++i) {
                if (!d) continue;
                NAME(div_row)(ky + b * C * 2 * hw, d, C, H, W, i);
                REAL *weighted = d + C * W;
                const REAL *a = A + b * C * hw + i * W;
                for (long j = 0; j < W; ++j) weighted[j] = 0;
                for (long c = 0; c < C; ++c)
                    for (long j = 0; j < W; ++j) weighted[j] += a[c * hw + j] * d[c * W + j];
                REAL *jr = jbuf + b * C * hw + i * W;
                for (long c = 0; c < C; ++c)
                    for (long j = 0; j < W; ++j)
                        jr[c * hw + j] = a[c * hw + j] * (d[c * W + j] - weighted[j]);
            }
        }
        free(d);
    }
    if (failed) return 1;
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
    for (long bc = 0; bc < B * C; ++bc) {
        for (long i = 0; i < H; ++i) {
            const long o0 = (2 * bc) * hw + i * W, o1 = o0 + hw, s0 = bc * hw + i * W;
            const REAL *jr = jbuf + s0;
            const REAL *jd = i < H - 1 ? jr + W : jr; /* last row: zero row difference */
            for (long j = 0; j < W; ++j) {
                const REAL g0 = jd[j] - jr[j];
                const REAL g1 = j < W - 1 ? jr[j + 1] - jr[j] : 0;
                const REAL m0 = ky[o0 + j] + sl * g0, m1 = ky[o1 + j] + sl * g1;
                const REAL t = u[o0 + j] * m0 + u[o1 + j] * m1;
                out[o0 + j] = y[o0 + j] - (m0 - u[o0 + j] * t) * scale[s0 + j];
                out[o1 + j] = y[o1 + j] - (m1 - u[o1 + j] * t) * scale[s0 + j];
            }
        }
    }
    return 0;
}

/* One projected dual step from `point`: eta_new = P(point - step * grad(softmax_C(o - lam div point))),
 * the step of the solver's plain and FISTA iterations (_solver.py). Returns 0, or 1 if out of memory. */
int NAME(tv_dual_step)(const REAL *o, const REAL *point, REAL *eta_new, long B, long C, long H,
                       long W, REAL lam, REAL step, int threads) {
    const long hw = H * W, dual = 2 * C * hw, chunks = ROW_CHUNKS(threads);
    int failed = 0;
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
    for (long b = 0; b < B; ++b) {
        for (long k = 0; k < chunks; ++k) {
            long r0, r1;
            NAME(row_ring) ring;
            chunk_rows(H, k, chunks, &r0, &r1);
            if (r0 >= r1) continue;
            if (NAME(ring_open)(&ring, C, W, 0)) {
                failed = 1;
                continue;
            }
            NAME(dual_sweep)(o + b * C * hw, point + b * dual, eta_new + b * dual, NULL, &ring, C, H,
                             W, r0, r1, lam, step);
            free(ring.memory);
        }
    }
    return failed;
}
