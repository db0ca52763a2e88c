/* preflight.c: estimate what a particle run needs and refuse what cannot run (npgrow/preflight.h).
 *
 * Why: a typo such as `sd_r_nm: 5` for 0.5 puts a few initial sizes near the 4e9-monomer limit;
 * the integer histograms are sized by the largest size, so the run asked for 65 GB and was
 * killed by the kernel minutes later. `output_every: 2e-7` asked for 29 GB of CSV. Both are
 * refused here in milliseconds, naming the key. The estimates are upper bounds of the right
 * order, not exact figures: they only have to separate "fits easily" from "cannot fit".
 * Does not allocate the run or look at a backend's device memory (the CUDA backend checks its
 * own free memory when it allocates).
 */
#define _DEFAULT_SOURCE /* statvfs, getrlimit */

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>

#include <gsl/gsl_cdf.h>

#include "npgrow/model.h"
#include "npgrow/preflight.h"

static const double kGiB = 1073741824.0;

/* Bytes this process may still allocate: the smallest of MemAvailable, the address-space
 * rlimit and the cgroup's limit minus its usage. */
static double memory_available(void)
{
    double avail = HUGE_VAL;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
                avail = (double)kb * 1024.0;
        fclose(f);
    }
    struct rlimit rl;
    if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY) {
        /* minus what is mapped already (the binary, libraries, thread stacks) */
        double used = 0.0;
        FILE *s = fopen("/proc/self/statm", "r");
        unsigned long long pages;
        if (s && fscanf(s, "%llu", &pages) == 1)
            used = (double)pages * 4096.0;
        if (s)
            fclose(s);
        avail = fmin(avail, (double)rl.rlim_cur - used);
    }
    FILE *m = fopen("/sys/fs/cgroup/memory.max", "r");
    if (m) {
        unsigned long long lim, cur;
        if (fscanf(m, "%llu", &lim) == 1) {
            FILE *c = fopen("/sys/fs/cgroup/memory.current", "r");
            if (c && fscanf(c, "%llu", &cur) == 1 && cur < lim)
                avail = fmin(avail, (double)(lim - cur));
            if (c)
                fclose(c);
        }
        fclose(m);
    }
    return avail;
}

/* Free bytes on the file system of path's nearest existing ancestor (< 0 unknown). */
static double disk_free(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path && *path ? path : ".");
    for (;;) {
        struct statvfs v;
        if (!statvfs(p, &v))
            return (double)v.f_bavail * (double)v.f_frsize;
        char *slash = strrchr(p, '/');
        if (!slash)
            return statvfs(".", &v) ? -1.0 : (double)v.f_bavail * (double)v.f_frsize;
        if (slash == p) {
            p[1] = '\0';
            return statvfs(p, &v) ? -1.0 : (double)v.f_bavail * (double)v.f_frsize;
        }
        *slash = '\0';
    }
}

/* Largest initial size among cfg->particles draws, to within a 1e-3 chance of being exceeded. */
static double initial_max(const npg_config *cfg)
{
    switch (cfg->init_kind) {
    case NPG_INIT_MONODISPERSE:
        return cfg->init_n;
    case NPG_INIT_HISTOGRAM: {
        double m = 2.0;
        for (size_t i = 0; i < cfg->init_table_len; ++i)
            if (cfg->init_counts[i] > 0.0)
                m = fmax(m, cfg->init_sizes[i]);
        return m;
    }
    default: {
        double q = 1e-3 / (double)cfg->particles; /* upper tail */
        double z = gsl_cdf_ugaussian_Qinv(q);
        double mean = cfg->init_mean_r_nm, sd = cfg->init_sd_r_nm, r;
        if (cfg->init_kind == NPG_INIT_NORMAL_R) {
            r = mean + sd * z;
        } else {
            double sig2 = log1p((sd / mean) * (sd / mean));
            r = exp(log(mean) - 0.5 * sig2 + sqrt(sig2) * z);
        }
        double n = pow(r / cfg->model.sigma_s, 3.0);
        return fmin(fmax(n, 2.0), NPG_CONFIG_N_LIMIT);
    }
    }
}

/* Mean initial size, roughly (for the closed-supply monomer total). */
static double initial_mean(const npg_config *cfg)
{
    if (cfg->init_kind == NPG_INIT_MONODISPERSE)
        return cfg->init_n;
    if (cfg->init_kind == NPG_INIT_HISTOGRAM) {
        double c = 0.0, cn = 0.0;
        for (size_t i = 0; i < cfg->init_table_len; ++i)
            c += cfg->init_counts[i], cn += cfg->init_counts[i] * cfg->init_sizes[i];
        return c > 0 ? cn / c : 2.0;
    }
    double m = cfg->init_mean_r_nm, sd = cfg->init_sd_r_nm;
    /* E[r^3] of the size law over sigma_s^3 */
    double er3 = cfg->init_kind == NPG_INIT_NORMAL_R
                     ? m * m * m + 3.0 * m * sd * sd
                     : m * m * m * pow(1.0 + (sd / m) * (sd / m), 3.0);
    return fmin(er3 / pow(cfg->model.sigma_s, 3.0), NPG_CONFIG_N_LIMIT);
}

/* Size after time t of dn/dt = S A_n from n0 (no dissociation): an upper envelope of the mean
 * growth. Integrated in ln n, steps of 0.2 %; returns >= limit when it gets there. */
static double envelope(const npg_model *m, double S, double n0, double t, double limit)
{
    if (!(S > 0.0))
        return n0;
    double n = n0, tt = 0.0;
    while (n < limit) {
        double a = S * npg_model_assoc(m, n);
        if (!(a > 0.0))
            return n;
        double dn = 0.002 * n + 1.0, dt = dn / S / npg_model_assoc(m, n + 0.5 * dn);
        if (tt + dt >= t)
            return n + dn * (t - tt) / dt;
        tt += dt;
        n += dn;
    }
    return limit;
}

int npg_preflight_check(const npg_config *cfg, const npg_preflight_options *o, npg_preflight *pf,
                        char *err, size_t errlen)
{
    memset(pf, 0, sizeof *pf);
    const npg_config_where *w = &cfg->where;
    const double N = (double)cfg->particles;
    const int closed = cfg->supply != NPG_SUPPLY_SCHEDULE;

    pf->n0_max = initial_max(cfg);
    double monomers = HUGE_VAL; /* closed: every monomer of the volume */
    if (closed) {
        double V = cfg->volume_nm3 > 0 ? cfg->volume_nm3 : N / cfg->particle_density_nm3;
        double vrho = V * cfg->solubility_nm3;
        double prec = cfg->supply == NPG_SUPPLY_PRECURSOR ? cfg->precursor_nm3 * V : 0.0;
        monomers = cfg->initial_supersaturation * vrho + prec + N * initial_mean(cfg);
        pf->s_max = monomers / vrho;
    } else {
        for (size_t i = 0; i < cfg->schedule_len; ++i)
            pf->s_max = fmax(pf->s_max, cfg->schedule_s[i]);
    }
    /* 1.25 x the envelope (+100) covers the fluctuations of the fastest of N particles. */
    double env = envelope(&cfg->model, pf->s_max, pf->n0_max, cfg->t_end, NPG_CONFIG_N_LIMIT);
    pf->n_max = fmin(1.25 * env + 100.0, fmin(pf->n0_max + monomers, NPG_CONFIG_N_LIMIT));

    if (pf->n0_max >= 0.5 * NPG_CONFIG_N_LIMIT)
        return npg_config_refuse(
            err, errlen, w->initial, "initial",
            "the largest of %.3g initial sizes is about %.3g monomers (r = %.4g nm): "
            "sizes must stay below 4e9 monomers, and the run's histograms would be "
            "sized by it; check mean_r_nm / sd_r_nm (nm, not a typo for 0.x?)",
            N, pf->n0_max, npg_model_radius(&cfg->model, pf->n0_max));
    if (pf->n_max >= NPG_CONFIG_N_LIMIT)
        return npg_config_refuse(
            err, errlen, closed ? w->supply : w->t_end, closed ? "supply" : "run.t_end",
            "at S up to %.4g, particles can grow past 4e9 monomers (the largest size "
            "npgrow represents) before t_end = %g %s: shorten t_end or lower S",
            pf->s_max, cfg->t_end, cfg->time_unit);

    /* Events of one particle in one interval (a 32-bit counter per particle and interval). */
    double lam = pf->s_max * npg_model_assoc(&cfg->model, pf->n_max) +
                 npg_model_dissoc(&cfg->model, pf->n_max);
    pf->events_max = lam * cfg->output_every;
    if (!(lam < HUGE_VAL))
        return npg_config_refuse(err, errlen, w->supply, "system",
                                 "the dissociation rate k^d_n overflows at n = %.3g: the energies "
                                 "(d_eps_f, d_eps_e, alpha_plus_4) make the rates infinite",
                                 pf->n_max);
    if (pf->events_max > 2e9)
        return npg_config_refuse(err, errlen, w->output_every, "run.output_every",
                                 "%g %s: a particle of %.3g monomers makes about %.3g events per "
                                 "interval, more than 2e9; use output_every <= %.3g %s",
                                 cfg->output_every, cfg->time_unit, pf->n_max, pf->events_max,
                                 2e9 / lam, cfg->time_unit);

    /* Memory: particle state + integer histograms (per thread and the merged one) + the run's
     * double copies of them + the rate table. */
    int threads = o && o->threads > 0 ? o->threads : omp_get_max_threads();
    /* Results do not depend on the thread count, so more threads than cores only cost: each
     * needs a stack (8 MiB of address space), and libgomp aborts the process when it cannot
     * create one. */
    if (threads > 4 * omp_get_num_procs())
        return npg_config_refuse(
            err, errlen, "--threads", "threads",
            "%d: at most 4 x the %d cores here (%d); results do not depend on it", threads,
            omp_get_num_procs(), 4 * omp_get_num_procs());
    double bpp = closed ? 12.0 : 8.0;
    /* Slots: the particles plus the source's entries (Poisson mean + 10 sd). */
    double slots = N;
    if (cfg->src.kind == NPG_SOURCE_POISSON) {
        double mean = cfg->src.rate_per_time *
                      fmax(0.0, fmin(cfg->src.t_stop, cfg->t_end) - cfg->src.t_start);
        slots += mean + 10.0 * sqrt(mean);
    } else if (cfg->src.kind == NPG_SOURCE_FILE) {
        slots += (double)cfg->src.entries_len;
    }
    if (cfg->coal.mode == NPG_COAL_BROWNIAN) {
        /* Brownian dynamics on the host (npgrow/brownian.h: ~28.5 bytes per slot) and, while
         * the initial placement runs, its grid (16 bytes per cell, up to 2 cells per particle) */
        bpp += 29.0 + 32.0;
    } else if (cfg->coal.mode != NPG_COAL_NONE) {
        /* bins (ids, grown by half when full) + positions + Group-B bits */
        bpp += 6.0 + 4.0 + 0.125;
        /* Merges can gather many particles into one (a gel, with the additive kernel): the
         * histograms then grow with the largest particle; the engine refuses beyond
         * NPG_ENGINE_HIST_LIMIT sizes at run time rather than sizing for the worst case here. */
    }
    double mem_particles = slots * bpp;
    double mem_hist = (pf->n_max + 1.0) * 24.0 * (threads + 2.0);
    double n_table = cfg->n_table ? cfg->n_table : 65536.0;
    pf->mem_bytes = mem_particles + mem_hist + n_table * 16.0 + 64e6;
    pf->mem_avail = memory_available();
    if (pf->mem_bytes > 0.9 * pf->mem_avail) {
        if (mem_particles >= mem_hist)
            return npg_config_refuse(
                err, errlen, w->particles, "run.particles",
                "%.0f particles need %.3g GiB (%g bytes each, plus %.3g GiB of "
                "histograms); this process may use %.3g GiB: use fewer particles",
                N, pf->mem_bytes / kGiB, bpp, mem_hist / kGiB, pf->mem_avail / kGiB);
        int from_init = pf->n0_max > 0.5 * pf->n_max;
        return npg_config_refuse(
            err, errlen, from_init ? w->initial : w->t_end, from_init ? "initial" : "run.t_end",
            "the size histograms are sized by the largest size (about %.3g monomers, "
            "%s) and need %.3g GiB with %d threads; this process may use %.3g GiB",
            pf->n_max, from_init ? "from the initial size law" : "grown by t_end", mem_hist / kGiB,
            threads, pf->mem_avail / kGiB);
    }

    /* Output: rows x bytes of each CSV. */
    double T = floor(cfg->t_end / cfg->output_every) + 2.0;
    double bins = cfg->hist_bin_width ? pf->n_max / cfg->hist_bin_width + 1.0
                                      : log(pf->n_max) / log(cfg->hist_log_ratio) + 1.0;
    bins = fmin(bins, fmax(N, 1.0));
    double traj = fmin((double)cfg->trajectories, N);
    double per_row = 480.0 + bins * (70.0 + 80.0) + traj * 40.0;
    pf->output_bytes = T * per_row;
    pf->disk_free = disk_free(o ? o->outdir : NULL);
    double cap = pf->disk_free >= 0 ? 0.9 * pf->disk_free : HUGE_VAL;
    const char *capwhat = "the free disk space";
    if (o && o->max_output_bytes > 0 && o->max_output_bytes < cap) {
        cap = o->max_output_bytes;
        capwhat = "the output cap (--max-output-gb)";
    }
    if (pf->output_bytes > cap) {
        int hist = bins * 150.0 > 480.0 + traj * 40.0;
        return npg_config_refuse(
            err, errlen, hist ? w->output : w->output_every,
            hist ? "output.histogram_bin_width" : "run.output_every",
            "the results would take about %.3g GiB (%.0f output times x %.3g kB), more "
            "than %s (%.3g GiB): %s",
            pf->output_bytes / kGiB, T, per_row / 1e3, capwhat, cap / kGiB,
            hist ? "use wider histogram bins (or histogram_log_ratio)"
                 : "use a larger output_every");
    }
    return 0;
}
