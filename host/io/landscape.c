/* landscape.c: the chemical-potential landscape mu_n of a model and the phase of a solution.
 *
 * Tabulates beta(mu_n - mu_inf) once, finds the physical maximum (n-dagger, searched over
 * n >= 20 so that the s = 2 artifact at n = 18 is skipped, model.md 1.3 and 1.8), and answers
 * "which phase is ln S in, and which sizes shrink" (n** beyond the table from the model itself).
 * It does not know about time or particles.
 */
#include <math.h>
#include <stdlib.h>

#include "npgrow/rates.h"
#include "npgrow/observe.h"

/* The smallest size that enters n-dagger, n* and n**: below it the s = 2 step of Nf dominates. */
#define NPG_LANDSCAPE_N_MIN 20u

int npg_landscape_init(npg_landscape *l, const npg_model *m, uint32_t len)
{
    l->mu = NULL;
    l->len = 0;
    l->mu_max = 0.0;
    l->n_dagger = 0;
    l->model = *m;
    if (len <= NPG_LANDSCAPE_N_MIN) /* no n >= 20 to take a maximum over */
        return -1;
    double *mu = malloc((size_t)len * sizeof *mu);
    if (!mu)
        return -1;
    mu[0] = 0.0;
    double best = -INFINITY;
    uint32_t arg = NPG_LANDSCAPE_N_MIN;
    for (uint32_t n = 1; n < len; ++n) {
        mu[n] = npg_model_mu(m, (double)n);
        /* strict >: the first n wins a tie, so the result does not depend on len */
        if (n >= NPG_LANDSCAPE_N_MIN && mu[n] > best) {
            best = mu[n];
            arg = n;
        }
    }
    l->mu = mu;
    l->len = len;
    l->mu_max = best;
    l->n_dagger = arg;
    return 0;
}

void npg_landscape_free(npg_landscape *l)
{
    free(l->mu);
    l->mu = NULL;
    l->len = 0;
}

uint32_t npg_landscape_n_limit(const npg_landscape *l)
{
    return l->len - 1u > NPG_N_STAR2_LIMIT ? l->len - 1u : NPG_N_STAR2_LIMIT;
}

/* n** beyond the table: mu_n > ln S at n = lo (the table's last size, on the decreasing branch
 * past n-dagger). Bisection over integers keeps mu_lo > ln S >= mu_hi, so the answer n satisfies
 * mu_n > ln S >= mu_{n+1} with both values from npg_model_mu. */
static uint32_t n_star2_beyond(const npg_landscape *l, uint32_t lo, double ln_s)
{
    uint32_t hi = npg_landscape_n_limit(l);
    if (npg_model_mu(&l->model, (double)hi) > ln_s)
        return NPG_N_STAR2_BEYOND;
    while (hi - lo > 1u) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (npg_model_mu(&l->model, (double)mid) > ln_s)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

const char *npg_landscape_phase(const npg_landscape *l, double S, uint32_t *n_star,
                                uint32_t *n_star2)
{
    *n_star = 0;
    *n_star2 = 0;
    if (!(S > 1.0)) /* ln S <= 0, S == 0 and NaN: every size shrinks on average */
        return "under";
    double ln_s = log(S);
    if (ln_s > l->mu_max)
        return "hyper";
    /* Supersaturated: the sizes with mu_n > ln S shrink. mu_n rises to n-dagger and then
     * decays, so they form one interval around n-dagger (scanned in full all the same). */
    uint32_t lo = 0, hi = 0;
    for (uint32_t n = NPG_LANDSCAPE_N_MIN; n < l->len; ++n) {
        if (l->mu[n] > ln_s) {
            if (!lo)
                lo = n;
            hi = n;
        }
    }
    if (!lo) /* ln S == mu_max exactly: only n-dagger itself is marginal */
        lo = hi = l->n_dagger;
    else if (hi == l->len - 1u && hi > l->n_dagger) /* still shrinking at the table's edge */
        hi = n_star2_beyond(l, hi, ln_s);
    *n_star = lo;
    *n_star2 = hi;
    return "super";
}
