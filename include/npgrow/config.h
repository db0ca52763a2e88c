/* npgrow/config.h: a run's configuration as plain structs, filled from YAML on the host.
 *
 * Parsing (libyaml) and validation live in host/config.c; everything downstream reads only
 * these structs. Units: lengths nm, concentrations nm^-3, time in `time_unit` (s or min).
 */
#ifndef NPGROW_CONFIG_H
#define NPGROW_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npgrow/init.h"
#include "npgrow/model.h"
#include "npgrow/status.h" /* NPG_EXIT_USAGE */

#ifdef __cplusplus
extern "C" {
#endif

typedef enum npg_supply_mode {
    NPG_SUPPLY_SCHEDULE = 0, /* S(t) from a table, piecewise linear: particles independent */
    NPG_SUPPLY_CLOSED = 1,   /* fixed total monomers in volume V; S = free / (V rho_1inf) */
    NPG_SUPPLY_PRECURSOR = 2 /* closed + precursor pool converting at first-order rate k_p */
} npg_supply_mode;

/* coalescence: (model.md 3; README "Coalescence"). Absent = NPG_COAL_NONE: no merging. */
typedef enum npg_coal_mode {
    NPG_COAL_NONE = 0,
    NPG_COAL_WELL_MIXED = 1, /* Marcus-Lushnikov: pair (i, j) merges at rate K_ij P_ij / V */
    NPG_COAL_BROWNIAN = 2    /* spatial Brownian dynamics: loaded (shell keys below); the particle
                                engine refuses it (exit 2) until Coalescence II lands; `npgrow
                                pair` solves its pair-correlation equation */
} npg_coal_mode;

/* coalescence.shell (mode: brownian): the reaction shell around a pair's contact distance
 * sigma_ij = R_i + R_j, centred at sigma_ij + l (model.md 3.2). */
typedef enum npg_coal_shell {
    NPG_SHELL_GAUSSIAN = 0, /* hazard kappa exp(-(r - (sigma_ij + l))^2 / (2 nu^2)), nu = width */
    NPG_SHELL_STEP = 1      /* Doi: hazard kappa for |r - (sigma_ij + l)| <= w, w = width */
} npg_coal_shell;

typedef enum npg_coal_kernel {
    NPG_KERNEL_BROWNIAN = 0, /* 4 pi (D_i + D_j)(R_i + R_j + l) k_a/(k_a + k_D) */
    NPG_KERNEL_CONSTANT = 1, /* k_const */
    NPG_KERNEL_ADDITIVE = 2  /* k_add (n_i + n_j) */
} npg_coal_kernel;

typedef enum npg_coal_propensity {
    NPG_PROPENSITY_NONE = 0, /* P = 1 */
    NPG_PROPENSITY_FERMI = 1 /* P = 1/(exp(gamma (R_i + R_j - sigma_c)) + 1) */
} npg_coal_propensity;

/* volume_nm3 / particle_density_nm3: one of the two as given; when coalescence: gives neither and
 * the supply is closed or precursor, the supply's one is copied here (both given must agree). */
typedef struct npg_coal_config {
    npg_coal_mode mode;
    double volume_nm3;           /* V [nm^3] as given (0 if particle_density_nm3 given) */
    double particle_density_nm3; /* particles / V at t = 0 [nm^-3] (0 if volume_nm3 given) */
    npg_coal_kernel kernel;
    double k_const_nm3_per_s;        /* constant kernel [nm^3/s] */
    double k_add_nm3_per_s;          /* additive kernel [nm^3/s per monomer] */
    double intrinsic_rate_nm3_per_s; /* brownian: reaction-limited k_a [nm^3/s]; 0 = infinite */
    double d_ref_nm2_per_s;          /* diffusion.d_ref_nm2_per_s: D at hydrodynamic r_ref */
    double r_ref_nm;                 /* diffusion.r_ref_nm */
    double tf_b_per_time;            /* time_factor.b_per_time: f(t) = (1 + b t)^-c [1/time] */
    double tf_c;                     /* time_factor.c [-] (0 = no time factor) */
    double ligand_nm;                /* l [nm] */
    npg_coal_propensity propensity;  /* propensity.kind */
    double gamma_per_nm;             /* propensity.gamma_per_nm [1/nm] */
    double sigma_c_nm;               /* propensity.sigma_c_nm [nm] */
    double epsilon;                  /* max expected merges per particle per sync interval (0.01) */
    uint64_t output_events;          /* output.coalescence_events: rows in coalescence.csv (1e5) */
    /* mode: brownian only (0 / defaults otherwise): */
    double kappa_c_per_s;           /* kappa_c: shell hazard at full propensity [1/s] */
    double shell_width_nm;          /* nu (gaussian) or w (step) [nm] (0.1) */
    npg_coal_shell shell;           /* gaussian (default) or step */
    double initial_min_distance_nm; /* r_c: no pair closer than this at t = 0 [nm] (0) */
    int shell_sampling;             /* 0 end (default), 1 bridge (gaussian shell only) */
    double step_resolution;         /* automatic dt: sqrt(2 D_max dt) <= nu / this (3) */
    uint64_t split_steps; /* with monomer exchange: the monomer SSA and the dynamics alternate
                           * every this many steps (100; step_resolution r < 3: x (r/3)^2) */
} npg_coal_config;

/* pair: the pair-correlation equation of `npgrow pair` (model.md 3.3-3.4; host/meanfield/pair.c).
 * Times are run times in the config's time_unit; the study's fits are in movie time
 * t + t_offset. The shell, propensity, kappa_c, l and r_c come from coalescence: (mode:
 * brownian). */
typedef enum npg_pair_sigma_kind {
    NPG_PAIR_SIGMA_FROZEN = 0,    /* sigma(t) = sigma_nm */
    NPG_PAIR_SIGMA_POLYNOMIAL = 1 /* sigma(t) = sum_k c_k (t + t_offset)^k */
} npg_pair_sigma_kind;

typedef enum npg_pair_dr_kind {
    NPG_PAIR_DR_FROM_DIFFUSION = 0, /* D_i + D_j of two particles of radius sigma/2 (coalescence.
                                       diffusion, time_factor): 2 f(t) D_ref r_ref/(sigma/2 + l) */
    NPG_PAIR_DR_POWER = 1           /* a / (1 + b (t + t_offset))^c */
} npg_pair_dr_kind;

typedef enum npg_pair_quadrature {
    NPG_PAIR_QUAD_CONSISTENT = 0, /* k_f with the shell at sigma(t) + l, as in the equation */
    NPG_PAIR_QUAD_SHIFTED = 1     /* [quirk] the original code: centre sigma(sigma(t)) + l */
} npg_pair_quadrature;

typedef enum npg_pair_ic_sigma {
    NPG_PAIR_IC_SIGMA_START = 0, /* u = 1 for r_c <= x + sigma(0) <= r_max (run time 0) */
    NPG_PAIR_IC_SIGMA_ZERO = 1   /* [quirk] the original code: sigma at movie time 0, i.e.
                                    sigma(-t_offset) */
} npg_pair_ic_sigma;

typedef enum npg_pair_kinetics {
    NPG_PAIR_KINETICS_STUDY = 0, /* dA/dt = P0 [t < t_cut] - k_f A^2: k_f [nm^3/time] read as
                                    1/time, the density absorbed into kappa_c (model.md 3.7) */
    NPG_PAIR_KINETICS_BOX = 1    /* dA/dt = P0 [t < t_cut] - (c0/2) k_f A^2, c0 = N(0)/V of the
                                    coalescence box: the particle engine's A = N/N(0), one
                                    particle lost per merge */
} npg_pair_kinetics;

#define NPG_PAIR_MAX_COEFFS 8 /* pair.sigma.coefficients: at most this many (degree 7) */

typedef struct npg_pair_config {
    int present;                        /* 1 when the config has a pair: section */
    npg_pair_sigma_kind sigma;          /* sigma.kind */
    double sigma_nm;                    /* frozen: sigma [nm] */
    uint32_t n_coeffs;                  /* polynomial: number of coefficients, 1 .. 8 */
    double coeffs[NPG_PAIR_MAX_COEFFS]; /* c_k [nm / time unit^k] */
    double t_offset;                /* sigma.t_offset: movie time of run time 0 [time unit] (0) */
    npg_pair_dr_kind d_r;           /* d_r.kind */
    double dr_a_nm2_per_s;          /* power: a [nm^2/s] */
    double dr_b_per_time;           /* power: b [1/time unit] */
    double dr_c;                    /* power: c [-] */
    double rmax_nm;                 /* domain x = r - sigma in [0, rmax] [nm] (300) */
    uint32_t cells;                 /* finite volumes (4000) */
    npg_pair_quadrature quadrature; /* consistent (default) or shifted */
    double ic_r_max_nm;             /* initial.r_max_nm: u = 0 beyond [nm]; 0 = no cut (default) */
    npg_pair_ic_sigma ic_sigma;     /* initial.sigma_at: start (default) or zero */
    npg_pair_kinetics kinetics;     /* study (default) or box */
    double p0_per_time;             /* source P0 of dA/dt [1/time unit] (0) */
    double t_cut;                   /* the source acts for t < t_cut [time unit]; absent: HUGE_VAL
                                       (the whole run) */
} npg_pair_config;

/* source: particles entering during the run (a Poisson stream or an explicit list). */
typedef enum npg_source_kind {
    NPG_SOURCE_NONE = 0,
    NPG_SOURCE_POISSON = 1, /* rate_per_time on [t_start, t_stop), sizes like `initial:` */
    NPG_SOURCE_FILE = 2     /* entries_file: CSV t,n */
} npg_source_kind;

typedef struct npg_source_config {
    npg_source_kind kind;
    double rate_per_time;   /* [particles per time unit] */
    double t_start, t_stop; /* [time unit] */
    /* size: the same kinds and keys as initial: */
    npg_init_kind size_kind;
    uint32_t size_n;
    double size_mean_r_nm, size_sd_r_nm;
    char size_file[1024];
    size_t size_table_len;
    uint32_t *size_sizes;
    double *size_counts;
    /* entries_file: */
    char entries_file[1024]; /* resolved path */
    size_t entries_len;
    double *entries_t;   /* [entries_len] non-decreasing [time unit] */
    uint32_t *entries_n; /* [entries_len] sizes >= 2 [monomers] */
} npg_source_config;

/* Where a value came from, for messages after loading: "file:line:column" of the key (or of its
 * section), or the command-line flag that overrode it ("--particles"). */
/* Master-equation size grid (me.resolution): default, and the least R > 0 accepted. */
#define NPG_ME_RESOLUTION     256u
#define NPG_ME_RESOLUTION_MIN 16u

typedef struct npg_config_where {
    char particles[1100];    /* run.particles */
    char t_end[1100];        /* run.t_end */
    char output_every[1100]; /* run.output_every */
    char initial[1100];      /* the initial: section */
    char supply[1100];       /* the supply: section */
    char output[1100];       /* the output: section (or the run section when absent) */
    char coalescence[1100];  /* the coalescence: section */
    char source[1100];       /* the source: section */
    char pair[1100];         /* the pair: section */
} npg_config_where;

/* Largest particle size npgrow represents (uint32 state, the sampler's bound). [monomers] */
#define NPG_CONFIG_N_LIMIT 4.0e9

#define NPG_CFG_MAX_SNAPSHOTS 64 /* [h5] output.snapshots: at most this many times */

/* Particle slots a run may hold: run.particles plus the source's entries. Ids run from 0 to
 * 2^32 - 3; 0xfffffffe and 0xffffffff key the host's own Philox streams (philox.h). */
#define NPG_CONFIG_CAPACITY_LIMIT 4294967294.0

typedef struct npg_config {
    char source[1024]; /* path of the YAML file it came from */
    char preset[64];   /* system.preset, or "" when the parameters are inline */
    char name[64];     /* system.name (defaults to the preset name or the file stem) */

    /* system: */
    npg_model model;   /* Table-1 parameters, delta, sigma_s */
    char time_unit[8]; /* "s" or "min" */

    /* supply: */
    npg_supply_mode supply;
    size_t schedule_len;         /* schedule: number of (t, S) points, >= 1 */
    double *schedule_t;          /* [schedule_len] strictly increasing [time unit] */
    double *schedule_s;          /* [schedule_len] S >= 0 [-] */
    double volume_nm3;           /* closed/precursor: V [nm^3]; 0 if particle_density_nm3 given */
    double particle_density_nm3; /* closed/precursor: alternative to V: particles / V [nm^-3] */
    double solubility_nm3;       /* closed/precursor: rho_1,inf [nm^-3] */
    double initial_supersaturation; /* closed/precursor: S at t = 0 [-] */
    double precursor_nm3;           /* precursor: initial precursor concentration [nm^-3] */
    double k_p;                     /* precursor: conversion rate [per time unit] */
    double tolerance;               /* closed/precursor: max relative change of free monomers per
                                       synchronization interval (default 0.01) */
    int no_monomer_exchange;        /* supply.monomer_exchange: false -> 1: no association or
                                       dissociation at all (coalescence alone); default 0 */

    /* initial: */
    npg_init_kind init_kind;
    uint32_t init_n;       /* monodisperse size [monomers] */
    double init_mean_r_nm; /* normal/lognormal: mean radius [nm] */
    double init_sd_r_nm;   /* normal/lognormal: sd of radius [nm] */
    char init_file[1024];  /* histogram: CSV with header n,count (resolved path) */
    size_t init_table_len; /* histogram: rows read */
    uint32_t *init_sizes;  /* [init_table_len] increasing sizes [monomers] */
    double *init_counts;   /* [init_table_len] counts (weights) */

    /* run: */
    uint64_t particles;  /* ensemble size */
    double t_end;        /* [time unit] */
    double output_every; /* [time unit] */
    uint32_t seed;
    uint32_t n_table; /* rate-table length (default 65536) */

    /* output: */
    uint32_t hist_bin_width; /* histogram bin width in n (default 50); 0 when log bins */
    double hist_log_ratio;   /* > 1: log bins with n_hi/n_lo ~ ratio (default 0 = linear) */
    uint32_t trajectories;   /* sampled particles in trajectories.csv (default 200) */
    /* [h5] run.h5 (host/io/h5out.c): on/off, and the times of full-ensemble snapshots
     * (/particles/ensemble/n_monomers), each taken at the first output time >= it; none given:
     * one snapshot at the last time. */
    int hdf5;                                /* output.hdf5 (default 1 = write run.h5) */
    uint32_t snapshots_len;                  /* output.snapshots: number of times given */
    double snapshots[NPG_CFG_MAX_SNAPSHOTS]; /* [time unit] increasing, in [0, t_end] */

    npg_coal_config coal;  /* coalescence: */
    npg_source_config src; /* source: (cfg->source is the config path) */

    /* me: */
    uint32_t me_n_max; /* master-equation truncation; 0 = choose automatically */
    /* master-equation size grid: sizes n >= 2R lumped into cells of width floor(n/R); 0 = one
     * cell per size (exact); default NPG_ME_RESOLUTION, at least NPG_ME_RESOLUTION_MIN */
    uint32_t me_resolution;

    npg_pair_config pair; /* pair: (npgrow pair) */

    /* for npg_config_check: */
    double init_small_fraction; /* normal/lognormal: P(n < 20) of the start (model.md 1.3) */
    npg_config_where where;
} npg_config;

/* Load and validate `path`. On error returns NPG_EXIT_USAGE and writes one message
 * "file:line:column: key: value: what is allowed" into err. *cfg is zeroed first; free it with
 * npg_config_free whether or not the load succeeded. */
int npg_config_load(const char *path, npg_config *cfg, char *err, size_t errlen);
void npg_config_free(npg_config *cfg);

/* The checks that depend on keys a command line can override (run.particles, run.t_end,
 * run.seed): output_every <= t_end and at most 1e7 output times; closed/precursor monomer counts
 * that fit 63-bit integers; the schedule's extension before its first and after its last point
 * (warned); particles below n = 20 (warned when at least one is expected); the coalescence volume
 * (finite, and equal to the closed supply's when both give one) and the Brownian kernel's scale
 * (<= 1e30 nm^3/s); the source's entries fitting NPG_CONFIG_CAPACITY_LIMIT with the particles
 * (Poisson: the mean plus 10 sd), entries after t_end (warned: ignored); pair: sigma(t) in (0, 1e6]
 * nm and D_r(t) in (0, 1e20] nm^2/s over [0, t_end] (sampled). Messages name the key
 * and where its value came from (cfg->where). Returns 0 or NPG_EXIT_USAGE. Commands call it
 * after applying their overrides; npg_config_load has run it once with the file's values. */
int npg_config_check(const npg_config *cfg, int warn, char *err, size_t errlen);

/* A message about a value checked after loading, "WHERE: KEY: <fmt ...>" (WHERE from
 * cfg->where; "(config)" when empty) into err. Returns NPG_EXIT_USAGE. */
int npg_config_refuse(char *err, size_t errlen, const char *where, const char *key, const char *fmt,
                      ...);

/* Write the resolved configuration as YAML (the same keys the loader reads), indented by
 * `indent` spaces; used for run.yaml. */
void npg_config_write_yaml(FILE *f, const npg_config *cfg, int indent);

/* str as a YAML double-quoted scalar that any YAML reader gives back byte for byte: `"` and `\`
 * escaped; newline, tab, CR, other control characters, DEL, NEL, U+2028/2029, BOM and U+FFFE/F
 * as escapes; other UTF-8 kept as it is; bytes that are not UTF-8 (file-system paths) as \xXX
 * (YAML reads those back as U+00XX: the one case that is not byte-exact). NULL writes "".
 * For every string npgrow writes into a YAML file (run.yaml: names, paths, device names). */
void npg_yaml_write_string(FILE *f, const char *str);

/* The initial-size sampler for cfg (host pointers into cfg; histogram CDF allocated into
 * *cdf_out, which the caller frees). Returns 0, or NPG_EXIT_USAGE with a message. */
int npg_config_init_view(const npg_config *cfg, npg_init_view *v, double **cdf_out, char *err,
                         size_t errlen);

/* The source's size law (source.size, a Poisson source only), like npg_config_init_view. Returns
 * NPG_EXIT_USAGE with a message when cfg has no Poisson source. */
int npg_config_source_view(const npg_config *cfg, npg_init_view *v, double **cdf_out, char *err,
                           size_t errlen);

/* pair: the contact distance sigma(t) [nm] at run time t [time unit] (frozen, or the polynomial
 * at movie time t + t_offset), and its derivative into *dsigma [nm / time unit] when not NULL. */
double npg_config_pair_sigma(const npg_config *cfg, double t, double *dsigma);
/* pair: the relative diffusion coefficient D_r(t) [nm^2/s] at run time t [time unit]: the power
 * law a / (1 + b (t + t_offset))^c, or D_i + D_j = 2 f(t) D_ref r_ref / (sigma(t)/2 + l) of two
 * particles of radius sigma/2 (coalescence.diffusion, time_factor). */
double npg_config_pair_dr(const npg_config *cfg, double t);

/* Seconds in one of cfg's time units (1 for `s`, 60 for `min`): per-second keys (coalescence
 * rates, diffusion) times this are per time unit. */
double npg_config_seconds_per_unit(const npg_config *cfg);

/* Supersaturation of the schedule at time t (piecewise linear, constant beyond the ends). */
double npg_config_schedule_s(const npg_config *cfg, double t);

#ifdef __cplusplus
}
#endif

#endif /* NPGROW_CONFIG_H */
