/* bench_me.c: the master equation on a config (default pt-acac, 180 s).
 *
 * usage: bench_me [CONFIG] [N_MAX|auto] [RTOL] [ATOL_REL]
 *   N_MAX  a fixed truncation (initial mass above it dropped); the solver alone is timed, with
 *          outputs visited at every output_every and no files written. Default 20000.
 *   auto   what `npgrow me` does: npg_me_solve with the automatic, growing n_max, writing every
 *          output into a temporary directory (removed afterwards).
 *          ($TMPDIR or /tmp).
 *   RTOL, ATOL_REL  tolerances (default NPG_ME_RTOL, NPG_ME_ATOL_REL of me.h).
 * Prints wall time, CVODE steps, RHS evaluations, n_max and the conservation errors.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npgrow/config.h"
#include "npgrow/me.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_auto(const npg_config *cfg, const npg_me_options *o)
{
    char dir[512];
    const char *tmpdir = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/bench_me.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) {
        perror("bench_me: mkdtemp");
        return 1;
    }
    char out[600], err[1024], cmd[640];
    snprintf(out, sizeof out, "%s/me", dir);
    npg_me_summary s;
    double t0 = now_s();
    int rc = npg_me_solve(cfg, o, out, 0, &s, err, sizeof err);
    double wall = now_s() - t0;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd))
        fprintf(stderr, "bench_me: could not remove %s\n", dir);
    if (rc) {
        fprintf(stderr, "bench_me: %s\n", err);
        return 1;
    }
    printf("n_max auto: final %u after %d enlargements (%d from the previous output)\n", s.n_max,
           s.grows, s.rollbacks);
    printf("wall_s %.3f  steps %ld  rhs_evals %ld  (all outputs written)\n", wall, s.steps,
           s.rhs_evals);
    printf("max tail fraction %.3g  particle conservation %.3g  monomer conservation %.3g\n",
           s.tail_max, s.particle_error, s.monomer_error);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : NPGROW_CONFIG_DIR "/pt-acac.yaml";
    const int automatic = argc > 2 && !strcmp(argv[2], "auto");
    uint32_t n_max = argc > 2 && !automatic ? (uint32_t)atol(argv[2]) : 20000u;
    npg_config cfg;
    char err[1024];
    if (npg_config_load(path, &cfg, err, sizeof err)) {
        fprintf(stderr, "bench_me: %s\n", err);
        npg_config_free(&cfg);
        return 2;
    }
    npg_me_options o = {0};
    o.rtol = argc > 3 ? atof(argv[3]) : 0.0;
    o.atol_rel = argc > 4 ? atof(argv[4]) : 0.0;
    printf("config %s, t_end %g, rtol %g, atol %g N(0)\n", path, cfg.t_end,
           o.rtol > 0 ? o.rtol : NPG_ME_RTOL, o.atol_rel > 0 ? o.atol_rel : NPG_ME_ATOL_REL);
    if (automatic) {
        int rc = bench_auto(&cfg, &o);
        npg_config_free(&cfg);
        return rc;
    }
    o.n_max = n_max;
    o.clip_initial = 1;
    double t0 = now_s();
    npg_me *me;
    if (npg_me_create(&me, &cfg, &o, err, sizeof err)) {
        fprintf(stderr, "bench_me: %s\n", err);
        npg_config_free(&cfg);
        return 1;
    }
    double tail = 0.0, perr = 0.0, merr = 0.0;
    npg_me_state st;
    for (double t = 0.0;; t += cfg.output_every) {
        if (t > cfg.t_end)
            t = cfg.t_end;
        if (npg_me_advance_to(me, t, err, sizeof err)) {
            fprintf(stderr, "bench_me: %s\n", err);
            return 1;
        }
        npg_me_get(me, &st);
        tail = st.tail > tail ? st.tail : tail;
        perr = st.particle_error > perr ? st.particle_error : perr;
        merr = st.monomer_error > merr ? st.monomer_error : merr;
        if (t >= cfg.t_end)
            break;
    }
    double wall = now_s() - t0;
    printf("n_max %u (fixed)\n", n_max);
    printf("wall_s %.3f  steps %ld  rhs_evals %ld  nonlin_iters %ld  jac_evals %ld  "
           "lin_setups %ld  err_test_fails %ld\n",
           wall, st.steps, st.rhs_evals, st.nonlin_iters, st.jac_evals, st.lin_setups,
           st.err_fails);
    printf("initial mass dropped above n_max %.3g\n", st.clipped);
    printf("max tail fraction %.3g  particle conservation %.3g  monomer conservation %.3g\n", tail,
           perr, merr);
    npg_me_destroy(me);
    npg_config_free(&cfg);
    return 0;
}
