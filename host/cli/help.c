/* help.c: every command's help text, in one place.
 *
 * `npgrow help CMD`, `npgrow CMD --help` and `-h` print the same text, every option with its
 * default and unit; a usage error prints it on stderr with exit status 2. README.md "Commands"
 * holds these texts verbatim (tests/cli/cli_help.sh compares them), so the two cannot drift.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static const char *const help_main =
    "usage: npgrow COMMAND [ARGS]   (npgrow help COMMAND: its options)\n"
    "  run CONFIG        particle-by-particle SSA of the ensemble\n"
    "  me CONFIG         mean-field master equation (SUNDIALS CVODE)\n"
    "  pair CONFIG       pair-correlation equation of spatial coalescence: k_f(t), A(t)\n"
    "  compare A B       compare two result directories (or run.h5) statistically\n"
    "  validate CONFIG   run + me + compare of one config\n"
    "  mu CONFIG         chemical potential and rates against n\n"
    "  plot RUN_DIR      figures (+ the CSV of what each plots), python3 -m npgrow.plot\n"
    "  data import FMT F...  experimental data (TEM trajectories, ex-situ radii) as a result\n"
    "                    directory\n"
    "  clean [DIR ...]   remove what killed runs left behind (DIR.tmp-PID)\n"
    "  infer DATA CONFIG S(t) from trajectories alone: a schedule config + bootstrap band\n"
    "  predict DATA CONFIG  the observed ensemble simulated under S(t), against the data\n"
    "  help [COMMAND]    this text, or COMMAND's options\n"
    "  --version         version and git commit\n"
    "exit status (every command):\n"
    "  0    success\n"
    "  1    a comparison failed, or a run failed (I/O error, solver failure)\n"
    "  2    bad input or usage, found before any work: arguments, config, unwritable output,\n"
    "       --backend cuda without a usable GPU\n"
    "  3    inconclusive: too little data to decide (compare, validate)\n"
    "  130  interrupted by SIGINT, 143 by SIGTERM (results so far kept, status: interrupted)\n";

static const char *const help_run =
    "usage: npgrow run CONFIG [options]\n"
    "  particle-by-particle SSA of the ensemble of CONFIG into a result directory\n"
    "  -o, --output DIR   result directory (default runs/<config stem>)\n"
    "  --particles N      particles, integer 1 .. 4e9 (default: config run.particles)\n"
    "  --seed S           random seed, integer 0 .. 4294967295 (default: config run.seed)\n"
    "  --threads T        CPU threads, 1 .. 4 x cores (default: OMP_NUM_THREADS, else all\n"
    "                     cores)\n"
    "  --backend B        auto, cpu or cuda (default cpu; auto: cuda when a GPU is usable)\n"
    "  --device K         CUDA device index, 0 .. 1024 (default 0)\n"
    "  --t-end T          end time, in the config's time_unit (default: config run.t_end)\n"
    "  --max-output-gb G  refuse a run whose result files would exceed G GiB (default: 90 %\n"
    "                     of the free disk space)\n"
    "  --force            replace DIR if it holds an earlier npgrow result and nothing else\n"
    "                     (default: refuse, exit 2); never ., .., /, $HOME or others' files\n"
    "  -q, --quiet        no progress line or summary on stderr\n"
    "  -h, --help         this text\n"
    "  before any work: the config, the overrides and the run's memory and output size are\n"
    "  checked (exit 2, naming the key); DIR.npgrow-lock keeps a second writer out\n"
    "  exit: 0 complete, 1 run failed, 2 bad input, 130/143 interrupted (status: interrupted)\n";

static const char *const help_me =
    "usage: npgrow me CONFIG [options]\n"
    "  mean-field master equation of CONFIG's model and supply (SUNDIALS CVODE, BDF)\n"
    "  -o, --output DIR   result directory (default runs/<config stem>-me)\n"
    "  --force            replace a non-empty DIR (default: refuse, exit 2)\n"
    "  --t-end T          end time, in the config's time_unit (default: config run.t_end)\n"
    "  --particles N      N(0), integer 1 .. 4e9 (default: config run.particles)\n"
    "  --n-max N          truncation size, integer 3 .. 16000000 [monomers]\n"
    "                     (default: config me.n_max; 0 there = automatic)\n"
    "  --resolution R     size grid: sizes n >= 2R lumped into cells of width floor(n/R),\n"
    "                     0 or an integer 16 .. 1e6; 0 = one cell per size, the exact\n"
    "                     equation (default: config me.resolution, 256 there)\n"
    "  --rtol R           CVODE relative tolerance, 1e-14 .. 1e-3 (default 1e-8 on a\n"
    "                     lumped grid, 1e-10 on the exact one)\n"
    "  --atol A           CVODE absolute tolerance on each N_n as a fraction of N(0),\n"
    "                     1e-20 .. 1e-3 (default 1e-16; the variance feels its tail: 1e-9\n"
    "                     moves var_n of the demo by 10 %)\n"
    "  -q, --quiet        no summary on stderr\n"
    "  -h, --help         this text\n"
    "  exit: 0 complete, 1 solver failed, 2 bad input, 130/143 interrupted\n";

static const char *const help_pair =
    "usage: npgrow pair CONFIG [options]\n"
    "  pair-correlation equation of CONFIG's coalescence: {mode: brownian} shell and its\n"
    "  pair: section (model.md 3.3-3.4): g(r, t) by finite volumes + SUNDIALS CVODE (BDF),\n"
    "  k_f(t) and A(t) (dA/dt = P0 [t < t_cut] - k_f A^2; pair.kinetics: box uses\n"
    "  (N(0)/V)/2 k_f, the particle engine's A); writes DIR/pair.csv (t,kf,A,g_contact at\n"
    "  0, output_every, ..., t_end), DIR/moments.csv in the run format (t, particles = A,\n"
    "  coalescences, kf: npgrow compare reads it against a run) and DIR/run.yaml\n"
    "  -o, --output DIR   result directory (default runs/<config stem>-pair)\n"
    "  --force            replace DIR if it holds an earlier npgrow result and nothing else\n"
    "                     (default: refuse, exit 2)\n"
    "  -q, --quiet        no progress line or summary on stderr\n"
    "  -h, --help         this text\n"
    "  grid, tolerances and quadrature come from the config (pair.cells, pair.rmax_nm,\n"
    "  pair.quadrature: consistent | shifted); CVODE rtol 1e-8, atol 1e-13\n"
    "  exit: 0 complete, 1 solver failed, 2 bad input, 130/143 interrupted\n";

static const char *const help_compare =
    "usage: npgrow compare A B [options]\n"
    "  A, B: result directories of npgrow run / npgrow me (moments.csv, histogram.csv,\n"
    "  run.yaml), or a run.h5 (a file, or a directory with run.h5 and no CSV files; with\n"
    "  both, the CSV files are read), or of npgrow pair (A and kf only); statistics at\n"
    "  their common output times, table on stdout\n"
    "  --z-max Z          bound on |Z|, the mean statistic, on |Z_count|, the particle\n"
    "                     count of coalescence runs, and on |Z_kf|, their merges per\n"
    "                     output interval against kf (default 3)\n"
    "  --y-max Y          bound on |Y|, the variance statistic (default 5)\n"
    "  --alpha A          KS significance level, in (0, 1) (default 0.001)\n"
    "  --rtol R           both deterministic: bound on relative mean and variance\n"
    "                     differences (default 1e-6)\n"
    "  --partial          compare a side that stopped early (interrupted, or ending before\n"
    "                     the other) on the common times (default: such a comparison fails)\n"
    "  -o, --output FILE  per-time statistics CSV (default A/compare.csv, or beside A\n"
    "                     when A is a run.h5)\n"
    "  -q, --quiet        no table on stdout\n"
    "  -h, --help         this text\n"
    "  a time is tested when every stochastic side has >= 50 alive particles; t = 0 alone\n"
    "  decides nothing\n"
    "  exit: 0 pass, 1 fail (or an unasked partial comparison), 2 bad input (also a\n"
    "  truncated, damaged or foreign run.h5), 3 inconclusive (no time tested after t = 0, or\n"
    "  no common time)\n";

static const char *const help_validate =
    "usage: npgrow validate CONFIG [options]\n"
    "  npgrow run into DIR/run, npgrow me into DIR/me, npgrow compare of the two into\n"
    "  DIR/compare.csv\n"
    "  -o, --output DIR   directory (default runs/<config stem>-validate)\n"
    "  --particles N      particles, integer 1 .. 4e9 (default: config run.particles)\n"
    "  --seed S           random seed, integer 0 .. 4294967295 (default: config run.seed)\n"
    "  --threads T        CPU threads, 1 .. 4 x cores (default: OMP_NUM_THREADS, else all\n"
    "                     cores)\n"
    "  --backend B        auto, cpu or cuda (default cpu)\n"
    "  --device K         CUDA device index, 0 .. 1024 (default 0)\n"
    "  --t-end T          end time, in the config's time_unit (default: config run.t_end)\n"
    "  --force            replace non-empty DIR/run and DIR/me (default: refuse, exit 2)\n"
    "  --z-max Z          bound on |Z| (default 3)\n"
    "  --y-max Y          bound on |Y| (default 5)\n"
    "  --alpha A          KS significance level, in (0, 1) (default 0.001)\n"
    "  -q, --quiet        no progress or table; the one-line verdict only\n"
    "  -h, --help         this text\n"
    "  testing (shows the comparison has power; the particle run only):\n"
    "  --perturb-delta D  add D to delta, -1 .. 1 (default 0)\n"
    "  --perturb-s F      multiply S (closed supply: its initial S) by F, 1e-3 .. 1e3\n"
    "                     (default 1)\n"
    "  exit: 0 pass, 1 fail or a failed run, 2 bad input, 3 inconclusive (too few alive\n"
    "  particles to test any time after t = 0), 130/143 interrupted\n";

static const char *const help_plot =
    "usage: npgrow plot RUN_DIR [options]\n"
    "  paper-style figures of a result directory (run, me) or a run.h5, each with the CSV of\n"
    "  exactly what it plots (python3 -m npgrow.plot, matplotlib)\n"
    "  --fig NAME         moments, histograms, growth-rate, mu, coalescence, trajectories\n"
    "                     (repeatable; default: all)\n"
    "  -o, --outdir DIR   where the figures go (default RUN_DIR/figures)\n"
    "  --format F         png, pdf or svg (default png)\n"
    "  --compare DIR      a second result directory overlaid on moments (default: none)\n"
    "  --times T ...      times for histograms and growth-rate (default: four spread over the\n"
    "                     run; the nearest output times are used)\n"
    "  -h, --help         the module's own help\n"
    "  exit: 0 done, 2 bad input (unreadable or foreign run.h5, unknown figure)\n";

static const char *const help_data =
    "usage: npgrow data import FORMAT FILE... --system CONFIG -o DIR [options]\n"
    "  experimental data (model.md 4) into a result directory: moments.csv (model columns\n"
    "  empty), histogram.csv, moments_ci.csv (bootstrap bands), run.yaml (kind: data); in\n"
    "  situ also trajectories.csv, growth_rate.csv (frame-to-frame dn/dt), coalescence.csv\n"
    "  FORMAT tem-pixel: TEM trajectories, (area [px^2], x [px], y [px]) per particle and\n"
    "         frame; area 0 or an empty cell = absent; r = pixel sqrt(area/pi) [nm],\n"
    "         n = round((r/sigma_s)^3); several FILEs (same rows) are one ensemble\n"
    "  FORMAT radii: ex situ, row 1 the sampling times, below them radii [nm];\n"
    "         n = (r/sigma_s)^3\n"
    "  --system CONFIG    npgrow config giving sigma_s [nm] and the time unit (no default:\n"
    "                     required)\n"
    "  -o, --output DIR   result directory (no default: required)\n"
    "  --pixel NM         tem-pixel: pixel size [nm/px], 1e-6 .. 1e6 (no default:\n"
    "                     required; Pt 0.53, Au 0.538)\n"
    "  --frame-dt T       tem-pixel: frame interval [time unit]; row k is at k T\n"
    "                     (no default: required unless --time-column)\n"
    "  --time-column      tem-pixel: column 1 holds the time [time unit] (default: none)\n"
    "  --groups           tem-pixel: a separator or label column (text in row 1, or under 3\n"
    "                     numbers) opens each group; a group's particles merge (default off)\n"
    "  --no-clean         keep every trajectory (default: drop one with 2 or more runs of\n"
    "                     more than 3 absent frames, model.md 4.3; merging groups exempt)\n"
    "  --clean-runs K     runs that drop a trajectory, 1 .. 1e6 (default 2)\n"
    "  --clean-len L      a run is more than L absent frames, 0 .. 1e6 (default 3)\n"
    "  --outliers         radii: drop r^3 outliers per time, |x - median| > 3 MAD\n"
    "                     (scaled, 1.4826) (default: keep all)\n"
    "  --resamples B      bootstrap resamples, 0 .. 1e6; 0: no moments_ci.csv (default 1000)\n"
    "  --seed S           bootstrap seed, integer 0 .. 4294967295 (default 1)\n"
    "  --force            replace DIR if it holds an earlier npgrow result and nothing else\n"
    "                     (default: refuse, exit 2)\n"
    "  -q, --quiet        no summary on stderr\n"
    "  -h, --help         this text\n"
    "  exit: 0 written, 1 write failed, 2 bad input (file:row:column named), 130/143\n"
    "  interrupted (nothing written)\n";

static const char *const help_infer =
    "usage: npgrow infer DATA_DIR CONFIG -o SCHEDULE.yaml [options]\n"
    "  S(t) from DATA_DIR/trajectories.csv (t,id,n,r_nm) with CONFIG's A_n and k^d_n: fits\n"
    "  <n>(t) = <n>(t0) + int (S <A_n> - <k^d_n>) dt over the particles present at both\n"
    "  frames of each interval with n >= N_MIN, S piecewise linear on knots, S >= 0 as a\n"
    "  constraint (non-negative least squares); band from a bootstrap over particles.\n"
    "  Writes SCHEDULE.yaml (CONFIG with supply {mode: schedule} and the inferred [t, S],\n"
    "  run.t_end = last frame: npgrow run accepts it) and SCHEDULE.csv beside it\n"
    "  (t,S,S_lo68,S_hi68,S_lo95,S_hi95); the time units of DATA_DIR and CONFIG must agree\n"
    "  -o, --output FILE  the schedule config to write (required, no default; .csv beside it)\n"
    "  --knot-every H     knot spacing of S(t), in the time_unit, > 0, or auto (default auto:\n"
    "                     the least error of B x 1, 1.5, 2, 3, 4, 6, 8 in cross-validation\n"
    "                     over blocks of frames, each block left out in turn)\n"
    "  --block B          cross-validation block length, in the time_unit, > 0 (default 5)\n"
    "  --bootstrap B      bootstrap resamples, integer 0 .. 100000 (default 200; 0: no band)\n"
    "  --block-bootstrap  also resample moving blocks of B of frames: the residuals of the\n"
    "                     integrated identity, scaled to the share of their variance the\n"
    "                     particles do not explain, added to each resample (whole-frame\n"
    "                     noise in the band) (default: particles only)\n"
    "  --seed S           bootstrap seed (GSL mt19937), integer 0 .. 4294967295 (default 1)\n"
    "  --n-min N          smallest size in the rate averages [monomers], >= 2 (default 20:\n"
    "                     the s = 2 spike of k^d_n lies below, model.md 1.3)\n"
    "  --force            replace existing SCHEDULE.yaml / .csv (default: refuse, exit 2)\n"
    "  -q, --quiet        no table or progress on stderr\n"
    "  -h, --help         this text\n"
    "  exit: 0 done, 1 fit or write failed, 2 bad input, 130/143 interrupted\n";

static const char *const help_predict =
    "usage: npgrow predict DATA_DIR CONFIG [-o DIR] [options]\n"
    "  the observed ensemble of DATA_DIR (an npgrow data import) simulated R times under\n"
    "  S(t) with CONFIG's A_n, k^d_n. In situ (trajectories.csv): each particle enters at\n"
    "  its first observed frame with its observed size and counts where the data has it\n"
    "  (it leaves at its last observed frame; a simulated particle that dissolves leaves\n"
    "  at once). Ex situ (radii): each replica resamples the first time's sample, evolves\n"
    "  it and draws each later time's sample size from it. Also the master-equation\n"
    "  prediction of the same trace: each particle's P(n,t) from its entry, deterministic.\n"
    "  Writes DIR: prediction.csv (per frame: mean_n, var_n, m3..m10 = <n^q>, m3n..m10n =\n"
    "  m_q/<n>^q; replica mean, sd and 2.5/16/84/97.5 % percentiles; the observed value\n"
    "  and its moments_ci.csv band; the master equation's value), summary.csv (fraction of\n"
    "  frames with >= 10 particles inside the 95 % band; predicted/observed at 1/4, 1/2 and\n"
    "  all of the span; the same for the master equation, me_ rows), run.yaml (the S(t))\n"
    "  -o, --output DIR   result directory (default prediction)\n"
    "  --replicas R       replicas of the observed ensemble, integer 1 .. 100000 (memory:\n"
    "                     replicas x frames x 88 bytes) (default 1000)\n"
    "  --schedule FILE    a config with supply {mode: schedule}: its S(t) is used, in the\n"
    "                     data's times (default: in situ inferred as npgrow infer does,\n"
    "                     without bootstrap; ex situ one constant S fitted to the sample\n"
    "                     means)\n"
    "  --seed S           Philox seed, integer 0 .. 4294967295 (default 1)\n"
    "  --threads T        OpenMP threads, integer 1 .. 1024 (default: OMP_NUM_THREADS or\n"
    "                     all cores); results do not depend on it\n"
    "  --no-me            skip the master-equation prediction (its columns empty)\n"
    "  --force            replace DIR if it holds an earlier npgrow result and nothing else\n"
    "                     (default: refuse, exit 2)\n"
    "  -q, --quiet        no summary on stdout, no progress on stderr\n"
    "  -h, --help         this text\n"
    "  exit: 0 done, 1 write failed, 2 bad input, 130/143 interrupted (nothing written)\n";

static const char *const help_clean =
    "usage: npgrow clean [DIR ...]\n"
    "  remove leftover temporary result directories (NAME.tmp-PID, with npgrow's marker file\n"
    "  inside) in each DIR (default: runs) whose npgrow process no longer exists and whose\n"
    "  NAME.npgrow-lock nobody holds; finished results, directories of running processes and\n"
    "  anything npgrow did not write are kept\n"
    "  -h, --help         this text\n"
    "  exit: 0 done (also when nothing was left over), 2 a DIR is not a directory\n";

static const char *const help_mu =
    "usage: npgrow mu CONFIG [options]\n"
    "  mu_n - mu_inf [kT], Gibbs-Thomson curve [kT], A_n and k^d_n [1/time_unit] for\n"
    "  n = 1 .. N on stdout; a summary (n-dagger, the s = 2 artifact) on stderr\n"
    "  --n-max N          largest n, integer 1 .. 100000000 [monomers] (default 10000)\n"
    "  --format F         csv or table (default table: aligned, with units)\n"
    "  -h, --help         this text\n"
    "  exit: 0 ok, 1 out of memory or write error, 2 bad input\n";

const char *npg_cli_help_text(const char *cmd)
{
    if (!cmd)
        return help_main;
    static const struct {
        const char *name, *text;
    } t[] = {{"run", help_run},           {"me", help_me},     {"compare", help_compare},
             {"validate", help_validate}, {"mu", help_mu},     {"clean", help_clean},
             {"plot", help_plot},         {"data", help_data}, {"infer", help_infer},
             {"predict", help_predict},   {"pair", help_pair}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; ++i)
        if (!strcmp(cmd, t[i].name))
            return t[i].text;
    return NULL;
}

int npg_cli_usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "npgrow %s: ", cmd);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    fputs(npg_cli_help_text(cmd), stderr);
    return NPG_EXIT_USAGE;
}
