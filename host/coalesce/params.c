/* params.c: the coalescence section of a config as kernel parameters in the run's time unit.
 *
 * The config keeps the user's units (nm^3/s, nm^2/s; time_factor.b per time unit); the kernel
 * works in the run's time unit, so every per-second rate is multiplied by the seconds in one
 * time unit (1 for `s`, 60 for `min`).
 */
#include <math.h>
#include <string.h>

#include "npgrow/brownian.h"
#include "npgrow/wellmixed.h"

void npg_coal_params_from_config(const npg_config *cfg, npg_coal_params *p)
{
    const npg_coal_config *c = &cfg->coal;
    const double s = npg_config_seconds_per_unit(cfg);
    memset(p, 0, sizeof *p);
    p->kernel = (int)c->kernel;
    p->k_const = c->k_const_nm3_per_s * s;
    p->k_add = c->k_add_nm3_per_s * s;
    p->k_a = c->intrinsic_rate_nm3_per_s * s;
    p->d_ref_r_ref = c->d_ref_nm2_per_s * c->r_ref_nm * s;
    p->ligand = c->ligand_nm;
    p->tf_b = c->tf_b_per_time;
    p->tf_c = c->tf_c;
    p->fermi = c->propensity == NPG_PROPENSITY_FERMI;
    p->gamma = c->gamma_per_nm;
    p->sigma_c = c->sigma_c_nm;
    p->sigma_s = cfg->model.sigma_s;
}

void npg_bd_params_from_config(const npg_config *cfg, int threads, npg_bd_params *bp)
{
    memset(bp, 0, sizeof *bp);
    npg_coal_params_from_config(cfg, &bp->coal);
    bp->box_nm = cbrt(npg_coal_volume(cfg));
    bp->kappa_c = cfg->coal.kappa_c_per_s * npg_config_seconds_per_unit(cfg);
    bp->shell_nm = cfg->coal.shell_width_nm;
    bp->shell = cfg->coal.shell == NPG_SHELL_STEP ? NPG_BD_SHELL_STEP : NPG_BD_SHELL_GAUSSIAN;
    bp->sampling = cfg->coal.shell_sampling == 1 ? NPG_BD_SAMPLE_BRIDGE : NPG_BD_SAMPLE_END;
    bp->dt_resolution = cfg->coal.step_resolution;
    bp->on_reaction = NPG_BD_MERGE;
    bp->seed = cfg->seed;
    bp->threads = threads;
}

double npg_coal_volume(const npg_config *cfg)
{
    const npg_coal_config *c = &cfg->coal;
    if (c->volume_nm3 > 0.0)
        return c->volume_nm3;
    if (c->particle_density_nm3 > 0.0)
        return (double)cfg->particles / c->particle_density_nm3;
    return 0.0;
}
