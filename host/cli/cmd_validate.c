/* cmd_validate.c: `npgrow validate CONFIG`: a particle run, the master equation of the same
 * config, and their statistical comparison, in one command.
 *
 * DIR/run (npgrow run), DIR/me (npgrow me), DIR/compare.csv. Exit status as `npgrow compare`
 * (help.c): in particular too few alive particles to test any time after t = 0 (e.g.
 * --particles 1) is INCONCLUSIVE, exit 3, never PASS.
 * The hidden options --perturb-delta D and --perturb-s F change the model of the particle run
 * only (delta + D; S, or the initial S of a closed supply, times F): the comparison must then
 * fail, which is how the tests show that it has power.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>
#include <sys/stat.h>

#include "commands.h"
#include "util/util.h"
#include "npgrow/compare.h"
#include "npgrow/me.h"
#include "npgrow/outdir.h"
#include "npgrow/run.h"

static int is_int(double v)
{
    return v == (double)(long long)v;
}

int npg_cmd_validate(int argc, char **argv)
{
    const char *config = NULL, *outdir = NULL, *backend = "cpu";
    int force = 0, quiet = 0;
    double particles = 0, seed = -1, threads = 0, device = 0, t_end = 0, dpert = 0, spert = 1;
    npg_compare_options co = {3.0, 5.0, 1e-3, 1e-6, 0};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        const char *allowed = "";
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            bad = !v || !*v;
            allowed = " (a non-empty path)";
            outdir = v;
        } else if (!strcmp(a, "--particles")) {
            bad = npg_parse_double(v, 1, 4e9, &particles) || !is_int(particles);
            allowed = " (integer 1 .. 4e9)";
        } else if (!strcmp(a, "--seed")) {
            bad = npg_parse_double(v, 0, 4294967295.0, &seed) || !is_int(seed);
            allowed = " (integer 0 .. 4294967295)";
        } else if (!strcmp(a, "--threads")) {
            bad = npg_parse_double(v, 1, 1024, &threads) || !is_int(threads);
            allowed = " (integer 1 .. 1024)";
        } else if (!strcmp(a, "--backend")) {
            bad = !v || (strcmp(v, "auto") && strcmp(v, "cpu") && strcmp(v, "cuda"));
            backend = v;
            allowed = " (auto, cpu or cuda)";
        } else if (!strcmp(a, "--device")) {
            bad = npg_parse_double(v, 0, 1024, &device) || !is_int(device);
            allowed = " (integer 0 .. 1024)";
        } else if (!strcmp(a, "--t-end")) {
            bad = npg_parse_double(v, 1e-300, 1e300, &t_end);
            allowed = " (positive number, config time unit)";
        } else if (!strcmp(a, "--z-max")) {
            bad = npg_parse_double(v, 1e-300, 1e300, &co.z_max);
            allowed = " (a positive number)";
        } else if (!strcmp(a, "--y-max")) {
            bad = npg_parse_double(v, 1e-300, 1e300, &co.y_max);
            allowed = " (a positive number)";
        } else if (!strcmp(a, "--alpha")) {
            bad = npg_parse_double(v, 1e-300, 0.999999, &co.alpha);
            allowed = " (a number in (0, 1))";
        } else if (!strcmp(a, "--perturb-delta")) {
            bad = npg_parse_double(v, -1.0, 1.0, &dpert);
            allowed = " (-1 .. 1)";
        } else if (!strcmp(a, "--perturb-s")) {
            bad = npg_parse_double(v, 1e-3, 1e3, &spert);
            allowed = " (1e-3 .. 1e3)";
        } else {
            takes = 0;
            if (!strcmp(a, "--force")) {
                force = 1;
            } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
                quiet = 1;
            } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                fputs(npg_cli_help_text("validate"), stdout);
                return NPG_EXIT_OK;
            } else if (a[0] == '-' || config) {
                return npg_cli_usage_error("validate", "unexpected argument '%s'", a);
            } else {
                config = a;
            }
        }
        if (bad) {
            fprintf(stderr, "npgrow validate: %s: invalid value '%s'%s\n%s", a, v ? v : "(missing)",
                    allowed, npg_cli_help_text("validate"));
            return NPG_EXIT_USAGE;
        }
        i += takes;
    }
    if (!config)
        return npg_cli_usage_error("validate", "%s", "missing CONFIG (a YAML file)");
    if (npg_cli_check_backend("validate", backend))
        return NPG_EXIT_USAGE;
    npg_config cfg;
    char err[2048];
    int rc = npg_config_load(config, &cfg, err, sizeof err);
    if (rc) {
        fprintf(stderr, "npgrow validate: %s\n", err);
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    if (cfg.coal.mode == NPG_COAL_BROWNIAN) {
        /* before any work: the master equation is well-mixed */
        fprintf(stderr,
                "npgrow validate: %s: coalescence.mode: brownian: the master equation is "
                "well-mixed; compare `npgrow run` of this config with its mean field, "
                "`npgrow pair` (k_f(t), A(t))\n",
                cfg.where.coalescence);
        npg_config_free(&cfg);
        return NPG_EXIT_USAGE;
    }
    if (particles > 0)
        cfg.particles = (uint64_t)particles;
    if (seed >= 0)
        cfg.seed = (uint32_t)seed;
    if (t_end > 0)
        cfg.t_end = t_end;
    char dir[3072], rdir[3100], mdir[3100], cpath[3120], given[1024];
    if (!outdir) {
        npg_default_outdir(config, "-validate", given, sizeof given);
        outdir = given;
    }
    /* DIR holds run/, me/ and compare.csv: the result-directory rules apply to it too */
    if ((rc = npg_outdir_check_container(outdir, force, dir, sizeof dir, err, sizeof err))) {
        fprintf(stderr, "npgrow validate: %s\n", err);
        npg_config_free(&cfg);
        return rc;
    }
    snprintf(rdir, sizeof rdir, "%s/run", dir);
    snprintf(mdir, sizeof mdir, "%s/me", dir);
    snprintf(cpath, sizeof cpath, "%s/compare.csv", dir);
    /* Create DIR itself (and parents) so that run and me can place their directories in it. */
    for (char *p = dir + 1;; ++p) {
        if (*p == '/' || !*p) {
            char c = *p;
            *p = 0;
            if (mkdir(dir, 0777) && errno != EEXIST) {
                /* before any work, like an unwritable -o of run and me */
                fprintf(stderr, "npgrow validate: %s: cannot create: %s\n", dir, strerror(errno));
                npg_config_free(&cfg);
                return NPG_EXIT_USAGE;
            }
            *p = c;
            if (!c)
                break;
        }
    }

    /* The particle run, with the hidden perturbation if asked for. */
    npg_config rcfg = cfg; /* shallow: shares cfg's tables; only the schedule is replaced */
    double *sched = NULL;
    rcfg.model.delta += dpert;
    if (spert != 1.0) {
        if (cfg.supply == NPG_SUPPLY_SCHEDULE && cfg.schedule_len) {
            sched = malloc(cfg.schedule_len * sizeof *sched);
            if (!sched) {
                npg_config_free(&cfg);
                return 1;
            }
            for (size_t k = 0; k < cfg.schedule_len; ++k)
                sched[k] = cfg.schedule_s[k] * spert;
            rcfg.schedule_s = sched;
        } else {
            rcfg.initial_supersaturation *= spert;
        }
    }
    if (!quiet && (dpert != 0.0 || spert != 1.0))
        fprintf(stderr,
                "npgrow validate: the particle run uses a PERTURBED model (delta %+g, S x %g)\n",
                dpert, spert);
    npg_run_options ro;
    memset(&ro, 0, sizeof ro);
    ro.outdir = rdir;
    ro.force = force;
    ro.quiet = quiet;
    ro.ens.backend = backend;
    ro.ens.threads = (int)threads;
    if (threads) /* every OpenMP region (output writers too), not only the backend */
        omp_set_num_threads((int)threads);
    ro.ens.device = (int)device;
    npg_run_summary rs;
    memset(&rs, 0, sizeof rs);
    rc = npg_run(&rcfg, &ro, &rs, err, sizeof err);
    free(sched);
    if (rc) {
        fprintf(stderr, "npgrow validate: run: %s\n", err);
        npg_config_free(&cfg);
        return rc == NPG_EXIT_SIGINT || rc == NPG_EXIT_SIGTERM || rc == NPG_EXIT_USAGE
                   ? rc
                   : NPG_EXIT_FAIL;
    }

    npg_me_summary ms;
    npg_me_options mo;
    memset(&mo, 0, sizeof mo);
    mo.progress = !quiet;
    npg_stop_install(); /* SIGINT/SIGTERM during the master equation: 130/143 */
    rc = npg_me_solve(&cfg, &mo, mdir, force, &ms, err, sizeof err);
    npg_stop_restore();
    if (rc) {
        fprintf(stderr, "npgrow validate: me: %s\n", err);
        npg_config_free(&cfg);
        return rc == NPG_EXIT_SIGINT || rc == NPG_EXIT_SIGTERM || rc == NPG_EXIT_USAGE
                   ? rc
                   : NPG_EXIT_FAIL;
    }

    npg_result ra, rb;
    if ((rc = npg_result_load(rdir, &ra, err, sizeof err))) {
        fprintf(stderr, "npgrow validate: %s\n", err);
        npg_config_free(&cfg);
        return rc;
    }
    if ((rc = npg_result_load(mdir, &rb, err, sizeof err))) {
        fprintf(stderr, "npgrow validate: %s\n", err);
        npg_result_free(&ra);
        npg_config_free(&cfg);
        return rc;
    }
    npg_compare_result cr;
    rc = npg_compare(&ra, &rb, &co, &cr, err, sizeof err);
    if (!rc && (rc = npg_compare_write_csv(&cr, cpath, err, sizeof err)))
        rc = NPG_EXIT_FAIL; /* DIR was created above: a write error here is a failed run */
    if (rc) {
        fprintf(stderr, "npgrow validate: %s\n", err);
    } else {
        if (!quiet)
            npg_compare_print(stdout, &ra, &rb, &co, &cr);
        rc = npg_compare_exit_status(&cr);
        printf("validate %s: %llu particles, run %.2f s (%.3g events/s), me %.2f s (n_max %u, %ld "
               "steps), %s -> %s\n",
               config, (unsigned long long)cfg.particles, rs.wall_s, rs.events_per_s, ms.wall_s,
               ms.n_max, ms.steps,
               rc == NPG_EXIT_OK             ? "PASS"
               : rc == NPG_EXIT_INCONCLUSIVE ? "INCONCLUSIVE (too few alive particles to test any "
                                               "time after t = 0)"
                                             : "FAIL",
               dir);
    }
    npg_compare_result_free(&cr);
    npg_result_free(&ra);
    npg_result_free(&rb);
    npg_config_free(&cfg);
    return rc;
}
