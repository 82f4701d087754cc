/* Fused CPU kernels for the TV softmax iteration (Eq. 3.8): the forward, its backward and the solver's dual steps.
 *
 * The state between iterations is the dual eta alone (B, C, 2, H, W); the primal
 * A = softmax_C(o - lam * div(eta)) is recomputed row by row into a two-row ring buffer,
 * so one iteration reads o and eta once and writes the new eta once. The dual is
 * double-buffered, so row chunks run in parallel without races. Conventions are those of
 * _operators.py (grad, div, project_unit_disk): forward differences with zero on the last row and column, div the
 * negative adjoint of grad, projection of each 2-vector onto the unit disk.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each parallel sweep gives every thread a chunk of rows of one batch item: chunk k of
 * `chunks` is rows [first, end). Type-independent, so it is defined once, above the bodies.
 * By default there are as many chunks as threads; tv_set_row_chunks(n > 0) fixes the count, so
 * the backward's per-chunk partial sums, and with them its results, do not follow the thread
 * count (reproducible mode, _native.py). */
static long fixed_row_chunks = 0;

void tv_set_row_chunks(long n) { fixed_row_chunks = n; }

#define ROW_CHUNKS(threads) (fixed_row_chunks > 0 ? fixed_row_chunks : ((threads) > 1 ? (long)(threads) : 1L))

static void chunk_rows(long H, long k, long chunks, long *first, long *end) {
    *first = H * k / chunks;
    *end = H * (k + 1) / chunks;
}

/* The backward's per-chunk partial sums (tv_softmax_backward_range) added in their fixed order:
 * n pairs (lambda's, the step's) into *grad_lam and *grad_step. */
void tv_sum_partials(const double *partial, long n, double *grad_lam, double *grad_step) {
    double lam_total = 0, step_total = 0;
    for (long i = 0; i < n; ++i) {
        lam_total += partial[2 * i];
        step_total += partial[2 * i + 1];
    }
    *grad_lam = lam_total;
    *grad_step = step_total;
}

#define REAL float
#define NAME(x) x##_f32
#define EXP expf
#define SQRT sqrtf
#include "_kernels_body.h"
#undef REAL
#undef NAME
#undef EXP
#undef SQRT

#define REAL double
#define NAME(x) x##_f64
#define EXP exp
#define SQRT sqrt
#include "_kernels_body.h"
