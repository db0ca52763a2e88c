/* npgrow/rates.h: the rate table, A_n and k^d_n tabulated for n < n_table, exact beyond.
 *
 * The SSA hot loop reads only this table and the particle's own state. Entries are stored as
 * (assoc, dissoc) pairs so one cache line serves both channels. The table may hold arbitrary
 * rates (tests use constant-rate chains); beyond it the model is evaluated exactly.
 */
#ifndef NPGROW_RATES_H
#define NPGROW_RATES_H

#include "npgrow/model.h"

/* Both rates are finite and >= 0 (the model's always are; a test's table must be too): the SSA's
 * branch-free channel choice relies on it. */
typedef struct npg_rate_pair {
    double assoc;  /* [per time unit] A_n, the n -> n+1 rate at S = 1 */
    double dissoc; /* [per time unit] k^d_n, the n -> n-1 rate */
} npg_rate_pair;

typedef struct npg_rates {
    npg_model model;            /* used beyond the table */
    const npg_rate_pair *table; /* [n_table] indexed by n; entry 0 unused (A_0 = k^d_0 = 0) */
    uint32_t n_table;           /* table covers 0 <= n < n_table */
} npg_rates;

/* Default table length 2^16: covers every observed size (max 10384) six times over, 1 MiB. */
#define NPG_RATES_DEFAULT_N_TABLE 65536u

/* Rates of an n-mer from the model itself (beyond the table). [per time unit] */
static NPG_COLD NPG_HD npg_rate_pair npg_rates_exact(const npg_model *m, uint32_t n)
{
    npg_rate_pair p;
    p.assoc = npg_model_assoc(m, (double)n);
    p.dissoc = npg_model_dissoc(m, (double)n);
    return p;
}

/* Rates of an n-mer. [per time unit] */
static inline NPG_HD npg_rate_pair npg_rates_at(const npg_rates *r, uint32_t n)
{
    if (n < r->n_table)
        return r->table[n];
    return npg_rates_exact(&r->model, n);
}

/* Fill table[0 .. n_table-1] from the model (host side, once per run). */
static inline void npg_rates_fill(npg_rate_pair *table, uint32_t n_table, const npg_model *m)
{
    for (uint32_t n = 0; n < n_table; ++n) {
        table[n].assoc = npg_model_assoc(m, (double)n);
        table[n].dissoc = npg_model_dissoc(m, (double)n);
    }
}

#endif /* NPGROW_RATES_H */
