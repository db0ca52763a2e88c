/* npgrow/backend.h: the engine's interface to a particle backend (CPU or CUDA).
 *
 * A backend owns the particle state (structure of arrays, on its own memory) and does three
 * things: advance every particle over one interval, reduce the state to exact integer
 * histograms, and copy out a few sampled sizes. Everything else (supply modes, output times,
 * observables, writers) is the engine's, on the host, identical for every backend.
 *
 * Particle state, per particle (id = index, never compacted):
 *   n      uint32  monomers; >= 2 alive, 1 dissolved (absorbing), 0 coalesced away or a
 *                  dormant slot for a particle that enters later (npg_backend_setup.active)
 *   n_prev uint32  n at the start of the current output interval (growth-rate statistics)
 *   n_save uint32  copy for a rejected interval (closed/precursor supply only, else absent)
 * => 8 bytes per particle for `schedule`, 12 with a supply that can reject an interval.
 */
#ifndef NPGROW_BACKEND_H
#define NPGROW_BACKEND_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "npgrow/init.h"
#include "npgrow/step.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npg_backend_setup {
    uint64_t count;  /* particle slots */
    uint64_t active; /* slots drawn from `init`; ids >= active start dormant (n = 0) for
                        entries; 0 = all */
    uint32_t seed;
    npg_init_view init;         /* host pointers; the backend copies what it needs */
    const npg_rate_pair *table; /* [n_table] host rate table; the backend copies it */
    uint32_t n_table;
    npg_model model;
    int need_save; /* allocate n_save (closed/precursor) */
    int threads;   /* CPU: OpenMP threads (0 = default) */
    int device;    /* CUDA: device ordinal */
} npg_backend_setup;

typedef struct npg_advance_stats {
    uint64_t events; /* accepted association + dissociation events in this interval */
    uint64_t alive;  /* particles with n >= 2 after the interval */
    uint64_t bound;  /* sum of n over alive particles after the interval [monomers] */
} npg_advance_stats;

/* Exact reductions of the state, all integer. Arrays are allocated by the caller with length
 * len = max_n + 1 (query max_n first). */
typedef struct npg_reduction {
    uint32_t len;
    uint64_t *count;      /* [len] alive particles of size n now */
    uint64_t *prev_count; /* [len] particles alive at the last mark, by their size then */
    int64_t *sum_dn;      /* [len] sum over those particles of (n now - n then); a particle that
                             dissolved since counts as n now = 1; one coalesced away since is
                             left out of both */
    uint64_t *count_b;    /* [len] Group-B (coalesced) particles of size n now; filled by the
                             engine (not the backend) in coalescence runs, else NULL */
} npg_reduction;

/* What advance and the constructors return when they stopped part-way because a stop was
 * requested (SIGINT/SIGTERM, npgrow/status.h): the state is then incomplete and is discarded. */
#define NPG_BACKEND_STOPPED 130

typedef struct npg_backend npg_backend;
struct npg_backend {
    const char *name; /* "cpu" or "cuda" */
    void *impl;
    int threads; /* resolved thread count (CPU) or 0 */
    char device_name[128];
    double bytes_per_particle;
    /* Each returns 0 on success, else writes err and returns non-zero. */
    int (*advance)(npg_backend *b, const npg_interval *iv, npg_advance_stats *st, char *err,
                   size_t errlen);
    int (*mark)(npg_backend *b, char *err, size_t errlen);                   /* n_prev := n */
    int (*save)(npg_backend *b, char *err, size_t errlen);                   /* n_save := n */
    int (*restore)(npg_backend *b, char *err, size_t errlen);                /* n := n_save */
    int (*max_n)(npg_backend *b, uint32_t *max_n, char *err, size_t errlen); /* over n, n_prev */
    int (*reduce)(npg_backend *b, npg_reduction *r, char *err, size_t errlen);
    int (*sample)(npg_backend *b, const uint64_t *ids, size_t k, uint32_t *n_out, char *err,
                  size_t errlen);
    /* Host-side processes (coalescence, entries) read and change sizes through these:
     * get_host points *n at `count` sizes equal to the state now; after changing them,
     * put_host makes them the state. CPU: the state itself, no copy; CUDA: a host mirror,
     * copied each way (4 more host bytes per particle, allocated on first use). */
    int (*get_host)(npg_backend *b, uint32_t **n, char *err, size_t errlen);
    int (*put_host)(npg_backend *b, char *err, size_t errlen);
    void (*destroy)(npg_backend *b);
};

/* Particle ids are 32-bit Philox keys, so a backend holds at most 2^32 particles. Returns 0, or
 * non-zero with a message naming the backend. */
static inline int npg_backend_check_count(const char *backend, uint64_t count, char *err,
                                          size_t errlen)
{
    if (count <= 0x100000000ull)
        return 0;
    snprintf(err, errlen,
             "%s backend: %llu particles: particle ids (Philox keys) are 32-bit, at most 2^32 "
             "particles",
             backend, (unsigned long long)count);
    return 1;
}

/* Constructors: fill *b and allocate/initialize the state (n = n_prev = initial size).
 * Return 0, or non-zero with a message (e.g. no CUDA device, not enough memory). */
int npg_backend_cpu_create(npg_backend *b, const npg_backend_setup *s, char *err, size_t errlen);
int npg_backend_cuda_create(npg_backend *b, const npg_backend_setup *s, char *err, size_t errlen);
/* 1 if this build has the CUDA backend and a usable device; else 0 with the reason in why. */
int npg_backend_cuda_available(char *why, size_t whylen);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_BACKEND_H */
