/* bench_me.c: the master equation for pt-acac over 180 s with n_max = 2e4 (issue 5 item 5).
 *
 * usage: bench_me [CONFIG] [N_MAX]   (default configs/pt-acac.yaml, 20000)
 * Prints wall time, CVODE steps, RHS evaluations and the conservation errors. It deliberately
 * writes no files: only the solver is timed (outputs at every output_every are still visited).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "npgrow/config.h"
#include "npgrow/me.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : NPGROW_CONFIG_DIR "/pt-acac.yaml";
    uint32_t n_max = argc > 2 ? (uint32_t)atol(argv[2]) : 20000u;
    npg_config cfg;
    char err[1024];
    if (npg_config_load(path, &cfg, err, sizeof err)) {
        fprintf(stderr, "bench_me: %s\n", err);
        npg_config_free(&cfg);
        return 2;
    }
    npg_me_options o = {0};
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
    printf("config %s, t_end %g, n_max %u\n", path, cfg.t_end, n_max);
    printf("wall_s %.3f  steps %ld  rhs_evals %ld  nonlin_iters %ld  jac_evals %ld  "
           "lin_iters %ld\n",
           wall, st.steps, st.rhs_evals, st.nonlin_iters, st.jac_evals, st.lin_iters);
    printf("initial mass dropped above n_max %.3g\n", st.clipped);
    printf("max tail fraction %.3g  particle conservation %.3g  monomer conservation %.3g\n", tail,
           perr, merr);
    npg_me_destroy(me);
    npg_config_free(&cfg);
    return 0;
}
