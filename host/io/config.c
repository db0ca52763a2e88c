/* config.c: the YAML configuration layer (libyaml document API) behind npgrow/config.h.
 *
 * Loads a config (optionally pulling system parameters from a preset file), checks every value
 * against the bounds of model.md 1.8 and the schema of configs/pt-acac.yaml, and reports the
 * first problem as "file:line:column: key: value: what is allowed". Writes the resolved config
 * back as YAML. It knows nothing about rate tables, engines or output directories.
 */
#define _XOPEN_SOURCE 700 /* realpath */

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "npgrow/config.h"

#include "util/yaml_limits.h"

#ifndef NPGROW_CONFIG_DIR
#define NPGROW_CONFIG_DIR "configs"
#endif

/* Largest size the sampler accepts (init.h) and the uint32 state holds. [monomers] */
#define NPG_CFG_N_LIMIT 4.0e9
/* A normal/lognormal start must put at least this probability on 2 <= n < 4e9. */
#define NPG_CFG_MIN_P_VALID 1e-3
/* Warn when more than this fraction of the start sits below n = 20 (model.md 1.3). */
#define NPG_CFG_WARN_P_SMALL 1e-6
#define NPG_CFG_SMALL_N      20

/* One parsed YAML file: its name for messages and the document. */
typedef struct ldr {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} ldr;

/* ---- messages --------------------------------------------------------------------------- */

static int vfail(const ldr *L, yaml_mark_t mark, const char *key, const char *value,
                 const char *fmt, va_list ap)
{
    if (L->err && L->errlen) {
        int k = snprintf(L->err, L->errlen, "%s:%zu:%zu: %s: %s: ", L->file, mark.line + 1,
                         mark.column + 1, key, value);
        if (k >= 0 && (size_t)k < L->errlen)
            vsnprintf(L->err + k, L->errlen - (size_t)k, fmt, ap);
    }
    return NPG_EXIT_USAGE;
}

static int fail_mark(const ldr *L, yaml_mark_t mark, const char *key, const char *value,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(L, mark, key, value, fmt, ap);
    va_end(ap);
    return NPG_EXIT_USAGE;
}

/* The text a message shows for a node: the scalar (shortened), or its kind. */
static void node_text(const yaml_node_t *n, char *buf, size_t len)
{
    if (!n) {
        snprintf(buf, len, "(missing)");
    } else if (n->type == YAML_SCALAR_NODE) {
        size_t l = n->data.scalar.length;
        if (l == 0)
            snprintf(buf, len, "(empty)");
        else if (l > 60)
            snprintf(buf, len, "%.57s...", (const char *)n->data.scalar.value);
        else
            snprintf(buf, len, "%s", (const char *)n->data.scalar.value);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        snprintf(buf, len, "(a sequence)");
    } else {
        snprintf(buf, len, "(a mapping)");
    }
}

/* Error located at node n (its start mark), showing n's value. */
static int fail(const ldr *L, const yaml_node_t *n, const char *key, const char *fmt, ...)
{
    char text[80];
    node_text(n, text, sizeof text);
    yaml_mark_t mark = {0, 0, 0};
    if (n)
        mark = n->start_mark;
    va_list ap;
    va_start(ap, fmt);
    vfail(L, mark, key, text, fmt, ap);
    va_end(ap);
    return NPG_EXIT_USAGE;
}

/* "file:line:column" of a node (or a mark) into a where-string. */
static void where_mark(char *dst, const ldr *L, yaml_mark_t m)
{
    snprintf(dst, sizeof((npg_config_where *)0)->particles, "%s:%zu:%zu", L->file, m.line + 1,
             m.column + 1);
}

/* ---- YAML access ------------------------------------------------------------------------ */

static yaml_node_t *node_at(const ldr *L, int id)
{
    return yaml_document_get_node(L->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* Value node of `key` in mapping `map`, or NULL. */
static yaml_node_t *lookup(const ldr *L, const yaml_node_t *map, const char *key)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         ++p) {
        yaml_node_t *k = node_at(L, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0)
            return node_at(L, p->value);
    }
    return NULL;
}

/* Every key of `map` must be a plain name from `allowed` (NULL-terminated) and appear once. */
static int check_keys(const ldr *L, const yaml_node_t *map, const char *sect,
                      const char *const *allowed)
{
    char list[512] = "";
    for (const char *const *a = allowed; *a; ++a) {
        strncat(list, *a, sizeof list - strlen(list) - 1);
        if (a[1])
            strncat(list, ", ", sizeof list - strlen(list) - 1);
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         ++p) {
        yaml_node_t *k = node_at(L, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            return fail(L, k, *sect ? sect : "(top level)", "keys must be plain names: %s", list);
        char path[160];
        snprintf(path, sizeof path, "%s%s%s", sect, *sect ? "." : "", scalar(k));
        int known = 0;
        for (const char *const *a = allowed; *a; ++a)
            known |= strcmp(*a, scalar(k)) == 0;
        /* Reported at the key, showing the value it was given. */
        char text[80];
        node_text(node_at(L, p->value), text, sizeof text);
        if (!known)
            return fail_mark(L, k->start_mark, path, text, "unknown key; allowed keys: %s", list);
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; ++q) {
            yaml_node_t *k0 = node_at(L, q->key);
            if (k0 && k0->type == YAML_SCALAR_NODE && strcmp(scalar(k0), scalar(k)) == 0)
                return fail_mark(L, k->start_mark, path, text,
                                 "duplicate key (first given on line %zu): give it once",
                                 k0->start_mark.line + 1);
        }
    }
    return 0;
}

/* One mapping section being read: where it is (for "missing" messages) and its dotted name. */
typedef struct sect {
    const ldr *L;
    const yaml_node_t *map;
    yaml_mark_t mark; /* the section's key in the file: missing keys are reported there */
    const char *name;
} sect;

static void key_path(const sect *s, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s.%s", s->name, key);
}

static int fail_missing(const sect *s, const char *key, const char *fmt, ...)
{
    char path[160];
    key_path(s, key, path, sizeof path);
    va_list ap;
    va_start(ap, fmt);
    vfail(s->L, s->mark, path, "(missing)", fmt, ap);
    va_end(ap);
    return NPG_EXIT_USAGE;
}

/* A plain (unquoted) scalar that strtod reads completely as a finite decimal number. */
static int parse_number(const yaml_node_t *v, double *out)
{
    if (!v || v->type != YAML_SCALAR_NODE ||
        v->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
        v->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        return -1;
    const char *s = scalar(v);
    if (*s == '\0' || strpbrk(s, "xXpP")) /* no hex floats */
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(x) || errno == ERANGE)
        return -1;
    *out = x;
    return 0;
}

/* What a node that should have been a number is, for "wrong type" messages. */
static const char *type_name(const yaml_node_t *v)
{
    if (v->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    if (v->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (v->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
        v->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
        return "a quoted string";
    return "not a number";
}

enum { OPEN_LO = 1, OPEN_HI = 2 };

/* Numeric key of section s, range [lo, hi] (ends open per `open`). Sets *present (may be NULL);
 * missing is an error only when `required`. `allowed` describes the valid values. */
static int get_num(const sect *s, const char *key, int required, double lo, double hi,
                   unsigned open, const char *allowed, double *out, const yaml_node_t **node)
{
    const yaml_node_t *v = lookup(s->L, s->map, key);
    if (node)
        *node = v;
    if (!v)
        return required ? fail_missing(s, key, "required: %s", allowed) : 0;
    char path[160];
    key_path(s, key, path, sizeof path);
    double x;
    if (parse_number(v, &x))
        return fail(s->L, v, path, "wrong type (%s): %s", type_name(v), allowed);
    int below = (open & OPEN_LO) ? !(x > lo) : !(x >= lo);
    int above = (open & OPEN_HI) ? !(x < hi) : !(x <= hi);
    if (below || above)
        return fail(s->L, v, path, "out of range: %s", allowed);
    *out = x;
    return 0;
}

/* Integer key in [lo, hi]; written as an integer or as a number with an integral value (1e5). */
static int get_int(const sect *s, const char *key, int required, double lo, double hi,
                   const char *allowed, uint64_t *out, const yaml_node_t **node)
{
    const yaml_node_t *v = NULL;
    double x = 0.0;
    int rc = get_num(s, key, required, -HUGE_VAL, HUGE_VAL, 0, allowed, &x, &v);
    if (node)
        *node = v;
    if (rc || !v)
        return rc;
    char path[160];
    key_path(s, key, path, sizeof path);
    if (x != floor(x))
        return fail(s->L, v, path, "not an integer: %s", allowed);
    if (x < lo || x > hi)
        return fail(s->L, v, path, "out of range: %s", allowed);
    *out = (uint64_t)x;
    return 0;
}

/* String key; *out points into the document. */
static int get_str(const sect *s, const char *key, int required, const char *allowed,
                   const char **out, const yaml_node_t **node)
{
    const yaml_node_t *v = lookup(s->L, s->map, key);
    if (node)
        *node = v;
    if (!v)
        return required ? fail_missing(s, key, "required: %s", allowed) : 0;
    if (v->type != YAML_SCALAR_NODE || v->data.scalar.length == 0) {
        char path[160];
        key_path(s, key, path, sizeof path);
        return fail(s->L, v, path, "wrong type: %s", allowed);
    }
    *out = scalar(v);
    return 0;
}

/* Index of `value` among `names` (NULL-terminated), or an error listing them. */
static int get_enum(const sect *s, const char *key, const char *const *names, int *out)
{
    char allowed[160] = "one of";
    for (const char *const *a = names; *a; ++a) {
        strncat(allowed, " ", sizeof allowed - strlen(allowed) - 1);
        strncat(allowed, *a, sizeof allowed - strlen(allowed) - 1);
    }
    const char *str = NULL;
    const yaml_node_t *v;
    int rc = get_str(s, key, 1, allowed, &str, &v);
    if (rc)
        return rc;
    for (int i = 0; names[i]; ++i)
        if (strcmp(names[i], str) == 0) {
            *out = i;
            return 0;
        }
    char path[160];
    key_path(s, key, path, sizeof path);
    return fail(s->L, v, path, "unknown value: %s", allowed);
}

/* A key that this mode/kind does not use is an error rather than silently ignored. */
static int reject_unused(const sect *s, const char *const *keys, const char *what)
{
    for (const char *const *k = keys; *k; ++k) {
        const yaml_node_t *v = lookup(s->L, s->map, *k);
        if (v) {
            char path[160];
            key_path(s, *k, path, sizeof path);
            return fail(s->L, v, path, "not used with %s: remove it", what);
        }
    }
    return 0;
}

/* ---- files ------------------------------------------------------------------------------ */

/* Directory part of path ("." when none). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else if (slash == path)
        snprintf(dir, len, "/");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

/* Mark (line, column) of byte `offset` of the file, for reader errors that only give an offset. */
static yaml_mark_t mark_of_offset(FILE *f, size_t offset)
{
    yaml_mark_t m = {offset, 0, 0};
    rewind(f);
    for (size_t i = 0; i < offset; ++i) {
        int c = fgetc(f);
        if (c == EOF)
            break;
        if (c == '\n')
            m.line += 1, m.column = 0;
        else
            m.column += 1;
    }
    return m;
}

/* Parse `path` into *doc. On failure the message names the file (and the syntax error's mark). */
static int load_document(const char *path, yaml_document_t *doc, char *err, size_t errlen)
{
    ldr L = {path, NULL, err, errlen};
    yaml_mark_t top = {0, 0, 0};
    struct stat sb;
    if (!stat(path, &sb) && S_ISDIR(sb.st_mode))
        return fail_mark(&L, top, "(file)", path, "is a directory: a YAML config file");
    FILE *in = fopen(path, "rb");
    if (!in)
        return fail_mark(&L, top, "(file)", path, "cannot open (%s): a readable YAML file",
                         strerror(errno));
    /* Read it whole (at most 1 MiB), so a pipe (`<(...)`) or a FIFO works like a file, both
     * passes below see the same bytes, and an endless stream cannot grow memory. */
    char *buf = malloc(NPG_YAML_MAX_BYTES + 1u);
    size_t len = buf ? fread(buf, 1, NPG_YAML_MAX_BYTES + 1u, in) : 0;
    int rerr = !buf || ferror(in);
    fclose(in);
    if (rerr) {
        free(buf);
        return fail_mark(&L, top, "(file)", path, "cannot read: a readable YAML file");
    }
    if (len > NPG_YAML_MAX_BYTES) {
        free(buf);
        return fail_mark(&L, top, "(file)", path,
                         "more than %u bytes: a config file of at most %u bytes (1 MiB)",
                         NPG_YAML_MAX_BYTES, NPG_YAML_MAX_BYTES);
    }
    FILE *f = len ? fmemopen(buf, len, "rb") : fopen("/dev/null", "rb");
    if (!f) {
        free(buf);
        return fail_mark(&L, top, "(file)", path, "out of memory");
    }
    yaml_mark_t lm;
    const char *what = "";
    if (npg_yaml_prescan(f, &lm, &what)) {
        fclose(f);
        free(buf);
        return fail_mark(&L, lm, "(document)", "(limits)", "%s", what);
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        fclose(f);
        free(buf);
        return fail_mark(&L, top, "(file)", path, "libyaml could not start (out of memory)");
    }
    yaml_parser_set_input_file(&p, f);
    int rc = 0;
    if (!yaml_parser_load(&p, doc)) {
        yaml_mark_t m = p.problem_mark;
        if (p.error == YAML_READER_ERROR) {
            /* the reader reports a byte offset, not a mark: count lines up to it */
            m = mark_of_offset(f, p.problem_offset);
            rc = fail_mark(&L, m, "(encoding)", p.problem ? p.problem : "error",
                           "UTF-8 text (or UTF-16 with a byte-order mark) is required (at byte "
                           "%zu, octet 0x%02x): save the file as UTF-8",
                           p.problem_offset, (unsigned)(p.problem_value & 0xff));
        } else {
            rc = fail_mark(&L, m, "(syntax)", p.problem ? p.problem : "error",
                           "valid YAML is required%s%s%s", p.context ? " (" : "",
                           p.context ? p.context : "", p.context ? ")" : "");
        }
    } else {
        yaml_node_t *root = yaml_document_get_root_node(doc);
        yaml_document_t extra;
        if (!root) {
            rc = fail_mark(&L, top, "(document)", "(empty)",
                           "a mapping with sections system, supply, initial, run");
        } else if (!yaml_parser_load(&p, &extra)) {
            rc = fail_mark(&L, p.problem_mark, "(syntax)", p.problem ? p.problem : "error",
                           "valid YAML is required");
        } else {
            if (yaml_document_get_root_node(&extra))
                rc = fail_mark(&L, yaml_document_get_root_node(&extra)->start_mark, "(document)",
                               "(a second document)", "one YAML document per config file");
            yaml_document_delete(&extra);
        }
        if (rc)
            yaml_document_delete(doc);
    }
    yaml_parser_delete(&p);
    fclose(f);
    free(buf);
    return rc;
}

/* ---- sections --------------------------------------------------------------------------- */

enum {
    SYS_NAME = 1u << 0,
    SYS_DEF = 1u << 1,
    SYS_DEE = 1u << 2,
    SYS_AP = 1u << 3,
    SYS_LAM = 1u << 4,
    SYS_K = 1u << 5,
    SYS_DELTA = 1u << 6,
    SYS_SIGMA = 1u << 7,
    SYS_TU = 1u << 8
};

static const char *const k_system_keys[] = {"preset",
                                            "name",
                                            "d_eps_f",
                                            "d_eps_e",
                                            "alpha_plus_4",
                                            "kappa_sigma_over_D",
                                            "kappa_rho_inf",
                                            "delta",
                                            "sigma_s_nm",
                                            "time_unit",
                                            NULL};

/* Apply the keys present in one `system:` mapping to cfg; *set collects which were given. */
static int apply_system(const sect *s, npg_config *cfg, unsigned *set)
{
    int rc;
    const yaml_node_t *v;
    double x;
    const char *str = NULL;
    if ((rc = check_keys(s->L, s->map, s->name, k_system_keys)))
        return rc;
    if ((rc = get_str(s, "name", 0, "a label of at most 63 characters", &str, &v)))
        return rc;
    if (v) {
        if (strlen(str) >= sizeof cfg->name)
            return fail(s->L, v, "system.name", "too long: a label of at most 63 characters");
        snprintf(cfg->name, sizeof cfg->name, "%s", str);
        *set |= SYS_NAME;
    }
    /* model.md 1.8's hard bounds of the fit: ln(qf/qb) in [-100, 0] and ln(qe/qb) in
     * [-100, 700], widened for d_eps_f to [-100, 100] so that exploratory signs still load.
     * Beyond them exp(beta mu) over- or underflows and the rates stop being finite. */
    if ((rc = get_num(s, "d_eps_f", 0, -100.0, 100.0, 0,
                      "a number in [-100, 100] [kT] (model.md 1.8 hard bounds)", &x, &v)))
        return rc;
    if (v)
        cfg->model.d_eps_f = x, *set |= SYS_DEF;
    if ((rc = get_num(s, "d_eps_e", 0, -700.0, 100.0, 0,
                      "a number in [-700, 100] [kT] (model.md 1.8 hard bounds)", &x, &v)))
        return rc;
    if (v)
        cfg->model.d_eps_e = x, *set |= SYS_DEE;
    if ((rc = get_num(s, "alpha_plus_4", 0, 4.0, 100.0, 0,
                      "a number in [4, 100] (alpha + 4, model.md 1.8)", &x, &v)))
        return rc;
    if (v)
        cfg->model.ap = x, *set |= SYS_AP;
    if ((rc = get_num(s, "kappa_sigma_over_D", 0, 0.0, 1e6, 0,
                      "a number in [0, 1e6] (lam = kappa_a sigma_s / D_1, model.md 1.8)", &x, &v)))
        return rc;
    if (v)
        cfg->model.lam = x, *set |= SYS_LAM;
    if ((rc = get_num(s, "kappa_rho_inf", 0, 0.0, 1e6, 0,
                      "a number in [0, 1e6] (K = kappa_a rho_1inf [nm^-2 per time unit], "
                      "model.md 1.8; the GA searched [0, 10])",
                      &x, &v)))
        return rc;
    if (v)
        cfg->model.K = x, *set |= SYS_K;
    const char *delta_allowed = "a number in [1, 2], or negative for the spherical fallback";
    if ((rc = get_num(s, "delta", 0, -HUGE_VAL, 2.0, 0, delta_allowed, &x, &v)))
        return rc;
    if (v) {
        if (x >= 0.0 && x < 1.0)
            return fail(s->L, v, "system.delta", "out of range: %s", delta_allowed);
        cfg->model.delta = x, *set |= SYS_DELTA;
    }
    if ((rc = get_num(s, "sigma_s_nm", 0, 0.0, 10.0, OPEN_LO,
                      "a number in (0, 10] (monomer radius [nm])", &x, &v)))
        return rc;
    if (v)
        cfg->model.sigma_s = x, *set |= SYS_SIGMA;
    static const char *const units[] = {"s", "min", NULL};
    if (lookup(s->L, s->map, "time_unit")) {
        int u;
        if ((rc = get_enum(s, "time_unit", units, &u)))
            return rc;
        snprintf(cfg->time_unit, sizeof cfg->time_unit, "%s", units[u]);
        *set |= SYS_TU;
    }
    return 0;
}

/* Find preset NAME.yaml next to the config, then in NPGROW_CONFIG_DIR. */
static int find_preset(const char *cfgdir, const char *name, char *out, size_t len)
{
    const char *dirs[2] = {cfgdir, NPGROW_CONFIG_DIR};
    for (int i = 0; i < 2; ++i) {
        int k = snprintf(out, len, "%s/%s.yaml", dirs[i], name);
        if (k < 0 || (size_t)k >= len)
            continue;
        FILE *f = fopen(out, "rb");
        if (f) {
            fclose(f);
            return 0;
        }
    }
    return -1;
}

static int parse_system(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, const char *cfgdir,
                        npg_config *cfg)
{
    sect s = {L, map, mark, "system"};
    int rc;
    unsigned set = 0;
    const char *preset = NULL;
    const yaml_node_t *pv;
    if ((rc = check_keys(L, map, "system", k_system_keys)))
        return rc;
    if ((rc = get_str(&s, "preset", 0, "the name of a preset file NAME.yaml", &preset, &pv)))
        return rc;
    if (pv) {
        if (strlen(preset) >= sizeof cfg->preset || strchr(preset, '/'))
            return fail(L, pv, "system.preset", "a preset name (no '/', at most 63 characters)");
        char ppath[1024];
        if (find_preset(cfgdir, preset, ppath, sizeof ppath))
            return fail(L, pv, "system.preset",
                        "no file %s.yaml in %s or %s: the name of a preset file NAME.yaml", preset,
                        cfgdir, NPGROW_CONFIG_DIR);
        yaml_document_t pdoc;
        if ((rc = load_document(ppath, &pdoc, L->err, L->errlen)))
            return rc;
        ldr P = {ppath, &pdoc, L->err, L->errlen};
        yaml_node_t *root = yaml_document_get_root_node(&pdoc);
        yaml_node_t *psys = NULL;
        yaml_mark_t pmark = root->start_mark;
        if (root->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
                 p < root->data.mapping.pairs.top; ++p) {
                yaml_node_t *k = node_at(&P, p->key);
                if (k && k->type == YAML_SCALAR_NODE && strcmp(scalar(k), "system") == 0) {
                    psys = node_at(&P, p->value);
                    pmark = k->start_mark;
                }
            }
        }
        if (!psys || psys->type != YAML_MAPPING_NODE) {
            rc = fail_mark(&P, pmark, "system", psys ? "(not a mapping)" : "(missing)",
                           "a preset file needs a system: mapping");
        } else if (lookup(&P, psys, "preset")) {
            rc = fail(&P, lookup(&P, psys, "preset"), "system.preset",
                      "presets do not nest: give the parameters inline");
        } else {
            sect ps = {&P, psys, pmark, "system"};
            rc = apply_system(&ps, cfg, &set);
        }
        yaml_document_delete(&pdoc);
        if (rc)
            return rc;
        snprintf(cfg->preset, sizeof cfg->preset, "%s", preset);
        if (!(set & SYS_NAME))
            snprintf(cfg->name, sizeof cfg->name, "%s", preset);
    }
    if ((rc = apply_system(&s, cfg, &set)))
        return rc;
    static const struct {
        unsigned bit;
        const char *key, *allowed;
    } need[] = {
        {SYS_DEF, "d_eps_f", "a number [kT] (face-site cost, model.md 1.1)"},
        {SYS_DEE, "d_eps_e", "a number [kT] (edge-site cost, model.md 1.1)"},
        {SYS_AP, "alpha_plus_4", "a number >= 4"},
        {SYS_LAM, "kappa_sigma_over_D", "a number >= 0"},
        {SYS_K, "kappa_rho_inf", "a number >= 0 [nm^-2 per time unit]"},
        {SYS_DELTA, "delta", "a number in [1, 2], or negative for spheres"},
        {SYS_SIGMA, "sigma_s_nm", "a number > 0 [nm]"},
        {SYS_TU, "time_unit", "s or min"},
    };
    for (size_t i = 0; i < sizeof need / sizeof need[0]; ++i)
        if (!(set & need[i].bit))
            return fail_missing(&s, need[i].key, "required (inline%s): %s",
                                pv ? " or in the preset" : " or through system.preset",
                                need[i].allowed);
    if (!cfg->name[0]) { /* the file stem */
        const char *base = strrchr(cfg->source, '/');
        base = base ? base + 1 : cfg->source;
        size_t l = strcspn(base, ".");
        if (l >= sizeof cfg->name)
            l = sizeof cfg->name - 1;
        snprintf(cfg->name, sizeof cfg->name, "%.*s", (int)l, base);
    }
    return 0;
}

static int parse_schedule(const sect *s, const yaml_node_t *v, npg_config *cfg)
{
    const ldr *L = s->L;
    const char *allowed = "a list of [t, S] pairs, t strictly increasing, S >= 0, at least one";
    if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top == v->data.sequence.items.start)
        return fail(L, v, "supply.supersaturation", "wrong type: %s", allowed);
    size_t len = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    cfg->schedule_t = malloc(len * sizeof(double));
    cfg->schedule_s = malloc(len * sizeof(double));
    if (!cfg->schedule_t || !cfg->schedule_s)
        return fail(L, v, "supply.supersaturation", "out of memory for %zu points", len);
    for (size_t i = 0; i < len; ++i) {
        const yaml_node_t *pair = node_at(L, v->data.sequence.items.start[i]);
        char path[96];
        snprintf(path, sizeof path, "supply.supersaturation[%zu]", i);
        if (!pair || pair->type != YAML_SEQUENCE_NODE ||
            pair->data.sequence.items.top - pair->data.sequence.items.start != 2)
            return fail(L, pair, path, "wrong type: a pair [t, S] (%s)", allowed);
        const yaml_node_t *tn = node_at(L, pair->data.sequence.items.start[0]);
        const yaml_node_t *sn = node_at(L, pair->data.sequence.items.start[1]);
        double t, S;
        char ipath[112];
        snprintf(ipath, sizeof ipath, "%s[0]", path);
        if (parse_number(tn, &t))
            return fail(L, tn, ipath, "wrong type: a time t [time unit] (%s)", allowed);
        snprintf(ipath, sizeof ipath, "%s[1]", path);
        if (parse_number(sn, &S))
            return fail(L, sn, ipath, "wrong type: a supersaturation S >= 0 (%s)", allowed);
        if (S < 0.0 || S > 1e6)
            return fail(L, sn, ipath, "out of range: S in [0, 1e6] (model.md 1.8)");
        if (i > 0 && !(t > cfg->schedule_t[i - 1])) {
            snprintf(ipath, sizeof ipath, "%s[0]", path);
            return fail(L, tn, ipath,
                        "not increasing: times must be strictly increasing (t > %.17g)",
                        cfg->schedule_t[i - 1]);
        }
        cfg->schedule_t[i] = t;
        cfg->schedule_s[i] = S;
        cfg->schedule_len = i + 1;
    }
    return 0;
}

static int parse_supply(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, npg_config *cfg)
{
    static const char *const keys[] = {"mode",           "supersaturation",
                                       "volume_nm3",     "particle_density_nm3",
                                       "solubility_nm3", "initial_supersaturation",
                                       "precursor_nm3",  "k_p",
                                       "tolerance",      NULL};
    static const char *const modes[] = {"schedule", "closed", "precursor", NULL};
    static const char *const not_schedule[] = {"volume_nm3",     "particle_density_nm3",
                                               "solubility_nm3", "initial_supersaturation",
                                               "precursor_nm3",  "k_p",
                                               "tolerance",      NULL};
    static const char *const not_closed[] = {"supersaturation", "precursor_nm3", "k_p", NULL};
    static const char *const not_precursor[] = {"supersaturation", NULL};
    sect s = {L, map, mark, "supply"};
    int rc, mode;
    if ((rc = check_keys(L, map, "supply", keys)) || (rc = get_enum(&s, "mode", modes, &mode)))
        return rc;
    cfg->supply = (npg_supply_mode)mode;
    if (mode == NPG_SUPPLY_SCHEDULE) {
        if ((rc = reject_unused(&s, not_schedule, "mode: schedule")))
            return rc;
        const yaml_node_t *v = lookup(L, map, "supersaturation");
        if (!v)
            return fail_missing(&s, "supersaturation",
                                "required with mode: schedule: a list of [t, S] pairs");
        return parse_schedule(&s, v, cfg);
    }
    if ((rc = reject_unused(&s, mode == NPG_SUPPLY_CLOSED ? not_closed : not_precursor,
                            mode == NPG_SUPPLY_CLOSED ? "mode: closed" : "mode: precursor")))
        return rc;
    const yaml_node_t *vv, *vd, *v;
    const char *vol_allowed = "exactly one of volume_nm3 [nm^3] or particle_density_nm3 "
                              "[nm^-3], a number > 0";
    if ((rc = get_num(&s, "volume_nm3", 0, 0.0, HUGE_VAL, OPEN_LO, vol_allowed, &cfg->volume_nm3,
                      &vv)) ||
        (rc = get_num(&s, "particle_density_nm3", 0, 0.0, HUGE_VAL, OPEN_LO, vol_allowed,
                      &cfg->particle_density_nm3, &vd)))
        return rc;
    if (vv && vd)
        return fail(L, vd, "supply.particle_density_nm3", "given together with volume_nm3: %s",
                    vol_allowed);
    if (!vv && !vd)
        return fail_missing(&s, "volume_nm3", "required: %s", vol_allowed);
    if ((rc = get_num(&s, "solubility_nm3", 1, 0.0, HUGE_VAL, OPEN_LO,
                      "a number > 0 (rho_1,inf [nm^-3])", &cfg->solubility_nm3, &v)) ||
        (rc = get_num(&s, "initial_supersaturation", 1, 0.0, 1e6, 0,
                      "a number in [0, 1e6] (S at t = 0)", &cfg->initial_supersaturation, &v)) ||
        (rc = get_num(&s, "tolerance", 0, 0.0, 0.5, OPEN_LO,
                      "a number in (0, 0.5] (largest relative change of free monomers per "
                      "synchronization interval)",
                      &cfg->tolerance, &v)))
        return rc;
    if (mode == NPG_SUPPLY_PRECURSOR) {
        if ((rc = get_num(&s, "precursor_nm3", 1, 0.0, HUGE_VAL, 0,
                          "a number >= 0 (initial precursor concentration [nm^-3])",
                          &cfg->precursor_nm3, &v)) ||
            (rc = get_num(&s, "k_p", 1, 0.0, 1e9, 0,
                          "a number in [0, 1e9] (precursor -> monomer rate [per time unit])",
                          &cfg->k_p, &v)))
            return rc;
    }
    return 0;
}

/* ---- initial sizes ---------------------------------------------------------------------- */

/* P(r < x) for the configured radius law (normal, or lognormal with the given mean/sd). */
static double radius_cdf(int kind, double mean, double sd, double x)
{
    if (kind == NPG_INIT_NORMAL_R)
        return 0.5 * erfc(-(x - mean) / (sd * sqrt(2.0)));
    if (x <= 0.0)
        return 0.0;
    double sig2 = log1p((sd / mean) * (sd / mean));
    double mu = log(mean) - 0.5 * sig2;
    return 0.5 * erfc(-(log(x) - mu) / sqrt(2.0 * sig2));
}

/* Radius at which round((r/sigma_s)^3) first reaches n. [nm] */
static double radius_of_n(double sigma_s, double n)
{
    return sigma_s * cbrt(n - 0.5);
}

static void print_warning(const ldr *L, yaml_mark_t m, const char *fmt, ...)
{
    fprintf(stderr, "warning: %s:%zu:%zu: ", L->file, m.line + 1, m.column + 1);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Trim spaces, tabs and line ends at both ends, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        ++s;
    size_t l = strlen(s);
    while (l && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\n' || s[l - 1] == '\r'))
        s[--l] = '\0';
    return s;
}

/* Read the histogram CSV (header n,count) into cfg. Messages point into the CSV. */
static int read_histogram(const ldr *L, const yaml_node_t *fv, const char *cfgdir, npg_config *cfg)
{
    const char *name = scalar(fv);
    char full[1024];
    int k = name[0] == '/' ? snprintf(full, sizeof full, "%s", name)
                           : snprintf(full, sizeof full, "%s/%s", cfgdir, name);
    if (k < 0 || (size_t)k >= sizeof full)
        return fail(L, fv, "initial.file", "path too long (at most 1023 characters)");
    FILE *f = fopen(full, "r");
    if (!f)
        return fail(L, fv, "initial.file",
                    "cannot open %s (%s): a CSV file with header n,count, path relative to "
                    "the config file",
                    full, strerror(errno));
    char *res = realpath(full, NULL); /* absolute, so that run.yaml reloads from anywhere */
    snprintf(cfg->init_file, sizeof cfg->init_file, "%s", res ? res : full);
    free(res);

    ldr C = {full, NULL, L->err, L->errlen};
    char line[1024];
    size_t lineno = 0, cap = 0;
    int rc = 0, header = 0;
    double total = 0.0, all = 0.0; /* counts at n >= 2; all counts (the sampler's CDF sum) */
    while (!rc && fgets(line, sizeof line, f)) {
        ++lineno;
        yaml_mark_t m = {0, lineno - 1, 0};
        if (!strchr(line, '\n') && !feof(f)) {
            rc = fail_mark(&C, m, "initial.file", "(long line)", "lines of at most 1022 chars");
            break;
        }
        char *t = trim(line);
        if (!*t || *t == '#')
            continue;
        if (!header) {
            char h[1024];
            snprintf(h, sizeof h, "%s", t);
            char *comma = strchr(h, ',');
            if (comma) {
                *comma = '\0';
                if (strcmp(trim(h), "n") == 0 && strcmp(trim(comma + 1), "count") == 0)
                    header = 1;
            }
            if (!header)
                rc = fail_mark(&C, m, "initial.file", t, "a header line n,count");
            continue;
        }
        char *comma = strchr(t, ',');
        if (!comma) {
            rc = fail_mark(&C, m, "initial.file", t, "a row n,count");
            break;
        }
        *comma = '\0';
        char *fn = trim(t), *fc = trim(comma + 1);
        char *end;
        double n = strtod(fn, &end);
        if (end == fn || *end || !(n >= 1.0 && n < NPG_CFG_N_LIMIT) || n != floor(n)) {
            rc = fail_mark(&C, m, "initial.file", fn, "n: an integer in [1, 4e9)");
            break;
        }
        double c = strtod(fc, &end);
        m.column = (size_t)(fc - line);
        if (end == fc || *end || !isfinite(c) || c < 0.0) {
            rc = fail_mark(&C, m, "initial.file", fc, "count: a number >= 0");
            break;
        }
        size_t i = cfg->init_table_len;
        if (i > 0 && !((uint32_t)n > cfg->init_sizes[i - 1])) {
            m.column = 0;
            rc = fail_mark(&C, m, "initial.file", fn, "n: strictly increasing (after %u)",
                           cfg->init_sizes[i - 1]);
            break;
        }
        if (i == cap) {
            cap = cap ? 2 * cap : 256;
            uint32_t *ns = realloc(cfg->init_sizes, cap * sizeof *ns);
            if (ns)
                cfg->init_sizes = ns;
            double *cs = realloc(cfg->init_counts, cap * sizeof *cs);
            if (cs)
                cfg->init_counts = cs;
            if (!ns || !cs) {
                rc = fail_mark(&C, m, "initial.file", fn, "out of memory");
                break;
            }
        }
        cfg->init_sizes[i] = (uint32_t)n;
        cfg->init_counts[i] = c;
        cfg->init_table_len = i + 1;
        all += c;
        if (n >= 2.0)
            total += c;
    }
    fclose(f);
    if (rc)
        return rc;
    if (!header)
        return fail(L, fv, "initial.file", "%s is empty: a CSV with header n,count and rows", full);
    if (!isfinite(total))
        return fail(L, fv, "initial.file",
                    "the counts in %s sum to more than 1.8e308: counts are relative weights; "
                    "scale them down",
                    full);
    if (!(total > 0.0))
        return fail(L, fv, "initial.file",
                    "no counts at n >= 2 in %s: at least one row with n >= 2 and count > 0", full);
    if (!isfinite(all))
        return fail(L, fv, "initial.file",
                    "the counts in %s sum beyond 1.8e308: relative weights with a finite sum",
                    full);
    for (size_t i = 0; i < cfg->init_table_len; ++i)
        if (cfg->init_sizes[i] < NPG_CFG_SMALL_N && cfg->init_counts[i] > 0.0) {
            print_warning(L, fv->start_mark,
                          "initial.file: %s has counts below n = %d (n = %u): the s = 2 "
                          "site-count step (model.md 1.3) acts there as an artificial barrier",
                          full, NPG_CFG_SMALL_N, cfg->init_sizes[i]);
            break;
        }
    return 0;
}

/* *psmall: for normal/lognormal starts, the fraction below n = 20 (warned about by the caller,
 * which knows the particle count). */
static int parse_initial(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, const char *cfgdir,
                         npg_config *cfg, double *psmall)
{
    static const char *const keys[] = {"kind", "n", "mean_r_nm", "sd_r_nm", "file", NULL};
    static const char *const kinds[] = {"monodisperse", "normal", "lognormal", "histogram", NULL};
    static const char *const not_mono[] = {"mean_r_nm", "sd_r_nm", "file", NULL};
    static const char *const not_dist[] = {"n", "file", NULL};
    static const char *const not_hist[] = {"n", "mean_r_nm", "sd_r_nm", NULL};
    static const int code[] = {NPG_INIT_MONODISPERSE, NPG_INIT_NORMAL_R, NPG_INIT_LOGNORMAL_R,
                               NPG_INIT_HISTOGRAM};
    sect s = {L, map, mark, "initial"};
    int rc, kind;
    if ((rc = check_keys(L, map, "initial", keys)) || (rc = get_enum(&s, "kind", kinds, &kind)))
        return rc;
    cfg->init_kind = (npg_init_kind)code[kind];
    const yaml_node_t *v;
    if (cfg->init_kind == NPG_INIT_MONODISPERSE) {
        uint64_t n = 0;
        if ((rc = reject_unused(&s, not_mono, "kind: monodisperse")) ||
            (rc = get_int(&s, "n", 1, 2.0, NPG_CFG_N_LIMIT - 1.0,
                          "an integer >= 2 (monomers per particle)", &n, &v)))
            return rc;
        cfg->init_n = (uint32_t)n;
        if (n < NPG_CFG_SMALL_N)
            print_warning(L, v->start_mark,
                          "initial.n: %u: particles start below n = %d, where the s = 2 "
                          "site-count step (model.md 1.3) acts as an artificial barrier",
                          cfg->init_n, NPG_CFG_SMALL_N);
        return 0;
    }
    if (cfg->init_kind == NPG_INIT_HISTOGRAM) {
        const char *file;
        if ((rc = reject_unused(&s, not_hist, "kind: histogram")) ||
            (rc = get_str(&s, "file", 1, "a CSV file with header n,count", &file, &v)))
            return rc;
        return read_histogram(L, v, cfgdir, cfg);
    }
    const yaml_node_t *vm;
    if ((rc = reject_unused(&s, not_dist, kind == 1 ? "kind: normal" : "kind: lognormal")) ||
        (rc = get_num(&s, "mean_r_nm", 1, 0.0, HUGE_VAL, OPEN_LO, "a number > 0 (mean radius [nm])",
                      &cfg->init_mean_r_nm, &vm)) ||
        (rc = get_num(&s, "sd_r_nm", 1, 0.0, HUGE_VAL, OPEN_LO,
                      "a number > 0 (sd of the radius [nm])", &cfg->init_sd_r_nm, &v)))
        return rc;
    /* The sampler redraws sizes outside [2, 4e9); a start that almost never lands there is an
     * error, not a silent pile-up at the fallback size. */
    double sig = cfg->model.sigma_s, m = cfg->init_mean_r_nm, sd = cfg->init_sd_r_nm;
    double r2 = radius_of_n(sig, 2.0), rmax = sig * cbrt(NPG_CFG_N_LIMIT - 0.5);
    double F2 = radius_cdf(cfg->init_kind, m, sd, r2);
    double Fmax = radius_cdf(cfg->init_kind, m, sd, rmax);
    double pvalid = Fmax - F2;
    if (!(pvalid > NPG_CFG_MIN_P_VALID))
        return fail(L, vm, "initial.mean_r_nm",
                    "P(2 <= n < 4e9) = %.3g with sd_r_nm = %g and sigma_s = %g nm: a size law "
                    "with P > %g (radii between %.4g and %.4g nm)",
                    pvalid, sd, sig, NPG_CFG_MIN_P_VALID, r2, rmax);
    *psmall = (radius_cdf(cfg->init_kind, m, sd, radius_of_n(sig, NPG_CFG_SMALL_N)) - F2) / pvalid;
    return 0;
}

/* ---- run, output, me -------------------------------------------------------------------- */

static int parse_run(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, npg_config *cfg)
{
    static const char *const keys[] = {"particles", "t_end",   "output_every",
                                       "seed",      "n_table", NULL};
    sect s = {L, map, mark, "run"};
    int rc;
    uint64_t u;
    const yaml_node_t *v, *vo;
    if ((rc = check_keys(L, map, "run", keys)) ||
        (rc = get_int(&s, "particles", 1, 1.0, NPG_CFG_N_LIMIT, "an integer in [1, 4e9]",
                      &cfg->particles, &v)))
        return rc;
    where_mark(cfg->where.particles, L, v->start_mark);
    if ((rc = get_num(&s, "t_end", 1, 0.0, 1e15, OPEN_LO, "a number in (0, 1e15] [time unit]",
                      &cfg->t_end, &v)))
        return rc;
    where_mark(cfg->where.t_end, L, v->start_mark);
    if ((rc = get_num(&s, "output_every", 1, 0.0, HUGE_VAL, OPEN_LO,
                      "a number > 0 and <= t_end [time unit]", &cfg->output_every, &vo)))
        return rc;
    where_mark(cfg->where.output_every, L, vo->start_mark);
    if (cfg->output_every > cfg->t_end)
        return fail(L, vo, "run.output_every", "out of range: a number > 0 and <= t_end = %.17g",
                    cfg->t_end);
    if (cfg->t_end / cfg->output_every > 1e7)
        return fail(L, vo, "run.output_every",
                    "too small: at most 1e7 output times (output_every >= t_end / 1e7)");
    if ((rc = get_int(&s, "seed", 0, 0.0, 4294967295.0, "an integer in [0, 2^32 - 1]", &u, &v)))
        return rc;
    if (v)
        cfg->seed = (uint32_t)u;
    if ((rc = get_int(&s, "n_table", 0, 1024.0, 16777216.0,
                      "an integer in [1024, 2^24] (rate-table length)", &u, &v)))
        return rc;
    if (v)
        cfg->n_table = (uint32_t)u;
    return 0;
}

/* [h5] output.hdf5 (true/false) and output.snapshots ([t, ...] in [0, t_end], increasing). */
static int parse_output_h5(const ldr *L, const yaml_node_t *map, npg_config *cfg)
{
    const yaml_node_t *v = lookup(L, map, "hdf5");
    if (v) {
        const char *b =
            v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                ? scalar(v)
                : "";
        if (strcmp(b, "true") && strcmp(b, "false"))
            return fail(L, v, "output.hdf5", "wrong type: true or false (write run.h5)");
        cfg->hdf5 = strcmp(b, "true") == 0;
    }
    v = lookup(L, map, "snapshots");
    if (!v)
        return 0;
    const char *allowed = "a list of times [t, ...] in [0, t_end], increasing, at most 64 "
                          "(full-ensemble snapshots in run.h5; [] = the last time)";
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(L, v, "output.snapshots", "wrong type: %s", allowed);
    size_t len = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (len > NPG_CFG_MAX_SNAPSHOTS)
        return fail(L, v, "output.snapshots", "too many (%zu): %s", len, allowed);
    for (size_t i = 0; i < len; ++i) {
        const yaml_node_t *tn = node_at(L, v->data.sequence.items.start[i]);
        char path[48];
        snprintf(path, sizeof path, "output.snapshots[%zu]", i);
        double t;
        if (parse_number(tn, &t))
            return fail(L, tn, path, "wrong type: %s", allowed);
        if (t < 0.0 || t > cfg->t_end || (i > 0 && !(t > cfg->snapshots[i - 1])))
            return fail(L, tn, path, "out of range: %s (t_end = %.17g)", allowed, cfg->t_end);
        cfg->snapshots[i] = t;
    }
    cfg->snapshots_len = (uint32_t)len;
    return 0;
}

static int parse_output(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, npg_config *cfg)
{
    static const char *const keys[] = {
        "histogram_bin_width", "histogram_log_ratio", "trajectories", "hdf5", "snapshots", NULL};
    sect s = {L, map, mark, "output"};
    int rc;
    uint64_t u;
    const yaml_node_t *vw, *vr, *v;
    double ratio = 0.0;
    if ((rc = check_keys(L, map, "output", keys)) ||
        (rc = get_int(&s, "histogram_bin_width", 0, 1.0, 4294967295.0,
                      "an integer >= 1 (bin width in n), or histogram_log_ratio instead", &u, &vw)))
        return rc;
    if (vw)
        cfg->hist_bin_width = (uint32_t)u;
    if ((rc = get_num(&s, "histogram_log_ratio", 0, 1.0, HUGE_VAL, OPEN_LO,
                      "a number > 1 (n_hi/n_lo of log bins), or histogram_bin_width instead",
                      &ratio, &vr)))
        return rc;
    if (vr && vw)
        return fail(L, vr, "output.histogram_log_ratio",
                    "given together with histogram_bin_width: give one of the two");
    if (vr) {
        cfg->hist_log_ratio = ratio;
        cfg->hist_bin_width = 0;
    }
    if ((rc = get_int(&s, "trajectories", 0, 0.0, 4294967295.0,
                      "an integer >= 0 (particles sampled into trajectories.csv)", &u, &v)))
        return rc;
    if (v)
        cfg->trajectories = (uint32_t)u;
    return parse_output_h5(L, map, cfg);
}

static int parse_me(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, npg_config *cfg)
{
    static const char *const keys[] = {"n_max", NULL};
    sect s = {L, map, mark, "me"};
    int rc;
    uint64_t u;
    const yaml_node_t *v;
    if ((rc = check_keys(L, map, "me", keys)) ||
        (rc = get_int(&s, "n_max", 0, 0.0, 4294967295.0,
                      "an integer >= 0 (master-equation truncation; 0 = automatic)", &u, &v)))
        return rc;
    if (v)
        cfg->me_n_max = (uint32_t)u;
    return 0;
}

/* ---- entry points ----------------------------------------------------------------------- */

static int parse_root(const ldr *L, const char *cfgdir, npg_config *cfg)
{
    static const char *const sections[] = {"system", "supply", "initial", "run",
                                           "output", "me",     NULL};
    yaml_node_t *root = yaml_document_get_root_node(L->doc);
    if (root->type != YAML_MAPPING_NODE)
        return fail(L, root, "(top level)", "a mapping with sections system, supply, initial, run");
    int rc;
    if ((rc = check_keys(L, root, "", sections)))
        return rc;
    const yaml_node_t *node[6] = {NULL};
    double psmall = 0.0;
    yaml_mark_t mark[6];
    for (int i = 0; i < 6; ++i) {
        mark[i] = root->start_mark;
        for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
             ++p) {
            yaml_node_t *k = node_at(L, p->key);
            if (strcmp(scalar(k), sections[i]) == 0) {
                node[i] = node_at(L, p->value);
                mark[i] = k->start_mark;
            }
        }
        if (!node[i] && i < 4)
            return fail_mark(L, root->start_mark, sections[i], "(missing)",
                             "required section (system, supply, initial and run are required)");
        if (node[i] && node[i]->type != YAML_MAPPING_NODE)
            return fail(L, node[i], sections[i], "wrong type: a mapping of keys");
    }
    if ((rc = parse_system(L, node[0], mark[0], cfgdir, cfg)) ||
        (rc = parse_supply(L, node[1], mark[1], cfg)) ||
        (rc = parse_initial(L, node[2], mark[2], cfgdir, cfg, &psmall)) ||
        (rc = parse_run(L, node[3], mark[3], cfg)))
        return rc;
    cfg->init_small_fraction = psmall; /* warned about by npg_config_check */
    where_mark(cfg->where.initial, L, mark[2]);
    where_mark(cfg->where.supply, L, mark[1]);
    where_mark(cfg->where.output, L, node[4] ? mark[4] : mark[3]);
    if (node[4] && (rc = parse_output(L, node[4], mark[4], cfg)))
        return rc;
    if (node[5] && (rc = parse_me(L, node[5], mark[5], cfg)))
        return rc;
    return 0;
}

int npg_config_refuse(char *err, size_t errlen, const char *where, const char *key, const char *fmt,
                      ...)
{
    if (err && errlen) {
        int k = snprintf(err, errlen, "%s: %s: ", *where ? where : "(config)", key);
        if (k >= 0 && (size_t)k < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return NPG_EXIT_USAGE;
}

static void check_warn(const char *where, const char *fmt, ...)
{
    fprintf(stderr, "warning: %s: ", *where ? where : "(config)");
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Monomer counts of closed/precursor supply live in int64 (exact bookkeeping); 2^62 leaves room
 * for their sums. */
#define NPG_CFG_COUNT_LIMIT 4.6e18

int npg_config_check(const npg_config *cfg, int warn, char *err, size_t errlen)
{
    const npg_config_where *w = &cfg->where;
    if (!(cfg->particles >= 1 && (double)cfg->particles <= NPG_CFG_N_LIMIT))
        return npg_config_refuse(err, errlen, w->particles, "run.particles",
                                 "%llu: an integer in [1, 4e9]",
                                 (unsigned long long)cfg->particles);
    if (!(cfg->t_end > 0.0 && cfg->t_end <= 1e15))
        return npg_config_refuse(err, errlen, w->t_end, "run.t_end",
                                 "%g: a number in (0, 1e15] [%s]", cfg->t_end, cfg->time_unit);
    if (!(cfg->output_every > 0.0 && cfg->output_every <= cfg->t_end))
        return npg_config_refuse(err, errlen, w->output_every, "run.output_every",
                                 "%g: out of range: a number > 0 and <= t_end = %g [%s]",
                                 cfg->output_every, cfg->t_end, cfg->time_unit);
    if (cfg->t_end / cfg->output_every > 1e7)
        return npg_config_refuse(err, errlen, w->output_every, "run.output_every",
                                 "%g: too small for t_end = %g: at most 1e7 output times "
                                 "(output_every >= t_end / 1e7 = %g)",
                                 cfg->output_every, cfg->t_end, cfg->t_end / 1e7);
    if (cfg->supply != NPG_SUPPLY_SCHEDULE) {
        double V = cfg->volume_nm3 > 0 ? cfg->volume_nm3
                                       : (double)cfg->particles / cfg->particle_density_nm3;
        const char *vkey =
            cfg->volume_nm3 > 0 ? "supply.volume_nm3" : "supply.particle_density_nm3";
        double free0 = cfg->initial_supersaturation * V * cfg->solubility_nm3;
        double prec = cfg->supply == NPG_SUPPLY_PRECURSOR ? cfg->precursor_nm3 * V : 0.0;
        if (!(V > 0.0) || !isfinite(V) || V > 1e30)
            return npg_config_refuse(err, errlen, w->supply, vkey,
                                     "volume V = %g nm^3: a finite volume in (0, 1e30] nm^3", V);
        if (!(free0 <= NPG_CFG_COUNT_LIMIT))
            return npg_config_refuse(
                err, errlen, w->supply, "supply.initial_supersaturation",
                "S0 x V x solubility = %g x %g nm^3 x %g nm^-3 = %.3g free monomers: "
                "at most %.2g (63-bit exact monomer bookkeeping); lower the volume "
                "or the solubility",
                cfg->initial_supersaturation, V, cfg->solubility_nm3, free0, NPG_CFG_COUNT_LIMIT);
        if (!(prec <= NPG_CFG_COUNT_LIMIT))
            return npg_config_refuse(
                err, errlen, w->supply, "supply.precursor_nm3",
                "precursor_nm3 x V = %g nm^-3 x %g nm^3 = %.3g precursor units: at "
                "most %.2g (63-bit exact monomer bookkeeping)",
                cfg->precursor_nm3, V, prec, NPG_CFG_COUNT_LIMIT);
    }
    if (!warn)
        return 0;
    if (cfg->supply == NPG_SUPPLY_SCHEDULE && cfg->schedule_len) {
        double t0 = cfg->schedule_t[0], t1 = cfg->schedule_t[cfg->schedule_len - 1];
        if (t0 > 0.0)
            check_warn(w->supply,
                       "supply.supersaturation starts at t = %g %s, after 0: S is held at its "
                       "first value S = %g from t = 0 to %g",
                       t0, cfg->time_unit, cfg->schedule_s[0], t0);
        if (t1 < cfg->t_end)
            check_warn(w->supply,
                       "supply.supersaturation ends at t = %g %s, before t_end = %g: S is held "
                       "at its last value S = %g from t = %g to %g",
                       t1, cfg->time_unit, cfg->t_end, cfg->schedule_s[cfg->schedule_len - 1], t1,
                       cfg->t_end);
    }
    double expected = cfg->init_small_fraction * (double)cfg->particles;
    if (expected >= 1.0 && cfg->init_small_fraction < 1e-4)
        /* a handful of particles in a large ensemble: worth knowing, not alarming */
        fprintf(stderr,
                "note: %s: about %.3g of %llu initial particles (a fraction %.2g) start below n = "
                "%d, where the s = 2 site-count step (model.md 1.3) slows them; too few to "
                "matter for the ensemble's statistics\n",
                *w->initial ? w->initial : "(config)", expected, (unsigned long long)cfg->particles,
                cfg->init_small_fraction, NPG_CFG_SMALL_N);
    else if (expected >= 1.0)
        check_warn(w->initial,
                   "initial: a fraction %.3g of the initial sizes (about %.3g of %llu particles) "
                   "lies below n = %d (r < %.4g nm), where the s = 2 site-count step (model.md "
                   "1.3) acts as an artificial barrier",
                   cfg->init_small_fraction, expected, (unsigned long long)cfg->particles,
                   NPG_CFG_SMALL_N, radius_of_n(cfg->model.sigma_s, NPG_CFG_SMALL_N));
    return 0;
}

int npg_config_load(const char *path, npg_config *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (err && errlen)
        err[0] = '\0';
    cfg->tolerance = 0.01;
    cfg->seed = 1;
    cfg->n_table = 65536;
    cfg->hist_bin_width = 50;
    cfg->trajectories = 200;
    cfg->hdf5 = 1; /* [h5] */
    if (!path || strlen(path) >= sizeof cfg->source) {
        ldr L = {path ? path : "(null)", NULL, err, errlen};
        yaml_mark_t m = {0, 0, 0};
        return fail_mark(&L, m, "(file)", "(path)", "a config path of at most 1023 characters");
    }
    snprintf(cfg->source, sizeof cfg->source, "%s", path);
    yaml_document_t doc;
    int rc = load_document(path, &doc, err, errlen);
    if (rc)
        return rc;
    char dir[1024];
    dir_of(path, dir, sizeof dir);
    ldr L = {path, &doc, err, errlen};
    rc = parse_root(&L, dir, cfg);
    yaml_document_delete(&doc);
    if (!rc)
        rc = npg_config_check(cfg, 0, err, errlen);
    if (rc)
        npg_config_free(cfg); /* leave no half-built arrays behind */
    return rc;
}

void npg_config_free(npg_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->schedule_t);
    free(cfg->schedule_s);
    free(cfg->init_sizes);
    free(cfg->init_counts);
    cfg->schedule_t = cfg->schedule_s = NULL;
    cfg->init_sizes = NULL;
    cfg->init_counts = NULL;
    cfg->schedule_len = 0;
    cfg->init_table_len = 0;
}

double npg_config_schedule_s(const npg_config *cfg, double t)
{
    if (cfg->supply != NPG_SUPPLY_SCHEDULE || cfg->schedule_len == 0)
        return cfg->initial_supersaturation;
    const double *ts = cfg->schedule_t, *ss = cfg->schedule_s;
    size_t len = cfg->schedule_len;
    if (!(t > ts[0]))
        return ss[0];
    if (t >= ts[len - 1])
        return ss[len - 1];
    size_t lo = 0, hi = len - 1; /* ts[lo] < t < ts[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (ts[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    double w = (t - ts[lo]) / (ts[hi] - ts[lo]);
    return ss[lo] + w * (ss[hi] - ss[lo]);
}

int npg_config_init_view(const npg_config *cfg, npg_init_view *v, double **cdf_out, char *err,
                         size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (cdf_out)
        *cdf_out = NULL;
    v->kind = (int)cfg->init_kind;
    v->sigma_s = cfg->model.sigma_s;
    switch (cfg->init_kind) {
    case NPG_INIT_MONODISPERSE:
        v->n = cfg->init_n;
        return 0;
    case NPG_INIT_NORMAL_R:
        v->loc = cfg->init_mean_r_nm;
        v->scale = cfg->init_sd_r_nm;
        return 0;
    case NPG_INIT_LOGNORMAL_R: {
        /* ln r ~ N(mu, s^2) has E r = exp(mu + s^2/2) and Var r = (E r)^2 (exp(s^2) - 1). */
        double cv = cfg->init_sd_r_nm / cfg->init_mean_r_nm;
        double s2 = log1p(cv * cv);
        v->loc = log(cfg->init_mean_r_nm) - 0.5 * s2;
        v->scale = sqrt(s2);
        return 0;
    }
    case NPG_INIT_HISTOGRAM:
        break;
    }
    if (!cdf_out || cfg->init_table_len == 0 || cfg->init_table_len > UINT32_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "%s: initial: histogram table missing or too long", cfg->source);
        return NPG_EXIT_USAGE;
    }
    size_t len = cfg->init_table_len;
    double *cdf = malloc(len * sizeof *cdf);
    if (!cdf) {
        if (err && errlen)
            snprintf(err, errlen, "%s: initial: out of memory for the CDF", cfg->source);
        return NPG_EXIT_USAGE;
    }
    double total = 0.0;
    size_t last = 0; /* last row with a positive count */
    for (size_t i = 0; i < len; ++i) {
        total += cfg->init_counts[i];
        cdf[i] = total;
        if (cfg->init_counts[i] > 0.0)
            last = i;
    }
    for (size_t i = 0; i < len; ++i)
        cdf[i] = i >= last ? 1.0 : cdf[i] / total;
    v->cdf = cdf;
    v->sizes = cfg->init_sizes;
    v->table_len = (uint32_t)len;
    *cdf_out = cdf;
    return 0;
}

/* ---- writer ----------------------------------------------------------------------------- */

/* Shortest %.Ng (N = 15..17) that reads back as exactly x. */
static void fmt_double(char *buf, size_t len, double x)
{
    for (int prec = 15; prec <= 17; ++prec) {
        snprintf(buf, len, "%.*g", prec, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

/* Length of the well-formed UTF-8 sequence at s (1..4) and its code point, or 0 when the bytes
 * there are not one (stray continuation, overlong form, surrogate, beyond U+10FFFF, cut off). */
static int utf8_seq(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    int len = c < 0x80             ? 1
              : (c & 0xE0) == 0xC0 ? 2
              : (c & 0xF0) == 0xE0 ? 3
              : (c & 0xF8) == 0xF0 ? 4
                                   : 0;
    if (!len)
        return 0;
    uint32_t v = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (int k = 1; k < len; ++k) {
        if ((s[k] & 0xC0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        v = (v << 6) | (s[k] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

void npg_yaml_write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    fputc('"', f);
    while (*s) {
        uint32_t cp = 0;
        int len = utf8_seq(s, &cp);
        if (!len) { /* not UTF-8 (a path from the file system): the byte, as \xXX */
            fprintf(f, "\\x%02X", *s++);
            continue;
        }
        if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else if (cp == '\n')
            fputs("\\n", f);
        else if (cp == '\t')
            fputs("\\t", f);
        else if (cp == '\r')
            fputs("\\r", f);
        /* everything YAML 1.1 does not print as itself, or that a reader would fold or drop:
         * C0 and C1 controls, DEL, NEL, line/paragraph separators, BOM, non-characters */
        else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
                 cp == 0xFEFF || cp == 0xFFFE || cp == 0xFFFF)
            fprintf(f, "\\u%04X", (unsigned)cp);
        else
            fwrite(s, 1, (size_t)len, f); /* printable: kept as UTF-8 */
        s += len;
    }
    fputc('"', f);
}

static void put_quoted(FILE *f, const char *s)
{
    npg_yaml_write_string(f, s);
}

static void put_num(FILE *f, int ind, const char *key, double x, const char *comment)
{
    char b[40];
    fmt_double(b, sizeof b, x);
    fprintf(f, "%*s%s: %s", ind, "", key, b);
    if (comment)
        fprintf(f, "  # %s", comment);
    fputc('\n', f);
}

static void put_uint(FILE *f, int ind, const char *key, uint64_t x, const char *comment)
{
    fprintf(f, "%*s%s: %llu", ind, "", key, (unsigned long long)x);
    if (comment)
        fprintf(f, "  # %s", comment);
    fputc('\n', f);
}

void npg_config_write_yaml(FILE *f, const npg_config *cfg, int indent)
{
    int i0 = indent < 0 ? 0 : indent, i1 = i0 + 2;
    const char *tu = cfg->time_unit[0] ? cfg->time_unit : "s";
    char c[160];
    /* Strings from the user go out escaped, in comments too: a newline in a path must not end
     * the comment and start a key. */
    fprintf(f, "%*s# resolved configuration, loaded from ", i0, "");
    put_quoted(f, cfg->source);
    fputc('\n', f);
    fprintf(f, "%*ssystem:\n", i0, "");
    if (cfg->preset[0]) {
        fprintf(f, "%*s# preset ", i1, "");
        put_quoted(f, cfg->preset);
        fputs(": its values are written out below\n", f);
    }
    fprintf(f, "%*sname: ", i1, "");
    put_quoted(f, cfg->name);
    fputc('\n', f);
    put_num(f, i1, "d_eps_f", cfg->model.d_eps_f, "[kT] face-site cost -ln(q_f/q_b)");
    put_num(f, i1, "d_eps_e", cfg->model.d_eps_e, "[kT] edge-site cost -ln(q_e/q_b)");
    put_num(f, i1, "alpha_plus_4", cfg->model.ap, "[-] alpha + 4, weight of ln n");
    put_num(f, i1, "kappa_sigma_over_D", cfg->model.lam, "[-] kappa_a sigma_s / D_1");
    snprintf(c, sizeof c, "[nm^-2 %s^-1] kappa_a rho_1,inf", tu);
    put_num(f, i1, "kappa_rho_inf", cfg->model.K, c);
    put_num(f, i1, "delta", cfg->model.delta, "[-] shape index in [1,2]; negative = sphere");
    put_num(f, i1, "sigma_s_nm", cfg->model.sigma_s, "[nm] monomer radius");
    fprintf(f, "%*stime_unit: ", i1, "");
    put_quoted(f, tu);
    fputc('\n', f);

    static const char *const modes[] = {"schedule", "closed", "precursor"};
    fprintf(f, "%*ssupply:\n%*smode: %s\n", i0, "", i1, "", modes[cfg->supply]);
    if (cfg->supply == NPG_SUPPLY_SCHEDULE) {
        fprintf(f, "%*ssupersaturation:  # [t [%s], S [-]] pairs, piecewise linear\n", i1, "", tu);
        for (size_t i = 0; i < cfg->schedule_len; ++i) {
            char bt[40], bs[40];
            fmt_double(bt, sizeof bt, cfg->schedule_t[i]);
            fmt_double(bs, sizeof bs, cfg->schedule_s[i]);
            fprintf(f, "%*s- [%s, %s]\n", i1 + 2, "", bt, bs);
        }
    } else {
        if (cfg->volume_nm3 > 0.0)
            put_num(f, i1, "volume_nm3", cfg->volume_nm3, "[nm^3] volume V");
        else
            put_num(f, i1, "particle_density_nm3", cfg->particle_density_nm3,
                    "[nm^-3] particles per volume");
        put_num(f, i1, "solubility_nm3", cfg->solubility_nm3, "[nm^-3] rho_1,inf");
        put_num(f, i1, "initial_supersaturation", cfg->initial_supersaturation, "[-] S at t = 0");
        if (cfg->supply == NPG_SUPPLY_PRECURSOR) {
            put_num(f, i1, "precursor_nm3", cfg->precursor_nm3, "[nm^-3] initial precursor");
            snprintf(c, sizeof c, "[%s^-1] precursor -> monomer rate", tu);
            put_num(f, i1, "k_p", cfg->k_p, c);
        }
        put_num(f, i1, "tolerance", cfg->tolerance,
                "[-] max relative change of free monomers per interval");
    }

    static const char *const kinds[] = {"monodisperse", "normal", "lognormal", "histogram"};
    fprintf(f, "%*sinitial:\n%*skind: %s\n", i0, "", i1, "", kinds[cfg->init_kind]);
    if (cfg->init_kind == NPG_INIT_MONODISPERSE) {
        put_uint(f, i1, "n", cfg->init_n, "[monomers]");
    } else if (cfg->init_kind == NPG_INIT_HISTOGRAM) {
        fprintf(f, "%*sfile: ", i1, "");
        put_quoted(f, cfg->init_file);
        fprintf(f, "  # CSV n,count (%zu rows)\n", cfg->init_table_len);
    } else {
        put_num(f, i1, "mean_r_nm", cfg->init_mean_r_nm, "[nm] mean radius");
        put_num(f, i1, "sd_r_nm", cfg->init_sd_r_nm, "[nm] sd of the radius");
    }

    fprintf(f, "%*srun:\n", i0, "");
    put_uint(f, i1, "particles", cfg->particles, "ensemble size");
    snprintf(c, sizeof c, "[%s]", tu);
    put_num(f, i1, "t_end", cfg->t_end, c);
    put_num(f, i1, "output_every", cfg->output_every, c);
    put_uint(f, i1, "seed", cfg->seed, "Philox key");
    put_uint(f, i1, "n_table", cfg->n_table, "rate-table length [monomers]");

    fprintf(f, "%*soutput:\n", i0, "");
    if (cfg->hist_log_ratio > 1.0)
        put_num(f, i1, "histogram_log_ratio", cfg->hist_log_ratio, "[-] n_hi/n_lo of log bins");
    else
        put_uint(f, i1, "histogram_bin_width", cfg->hist_bin_width, "[monomers]");
    put_uint(f, i1, "trajectories", cfg->trajectories, "sampled particles");
    /* [h5] */
    fprintf(f, "%*shdf5: %s  # write run.h5\n", i1, "", cfg->hdf5 ? "true" : "false");
    fprintf(f, "%*ssnapshots: [", i1, "");
    for (uint32_t i = 0; i < cfg->snapshots_len; ++i) {
        char bt[40];
        fmt_double(bt, sizeof bt, cfg->snapshots[i]);
        fprintf(f, "%s%s", i ? ", " : "", bt);
    }
    snprintf(c, sizeof c, "[%s] full-ensemble snapshots in run.h5%s", tu,
             cfg->snapshots_len ? "" : "; [] = the last time");
    fprintf(f, "]  # %s\n", c);
    fprintf(f, "%*sme:\n", i0, "");
    put_uint(f, i1, "n_max", cfg->me_n_max, "master-equation truncation; 0 = automatic");
}

/* TEMPORARY (replaced by the source: parser's version) */
int npg_config_source_view(const npg_config *cfg, npg_init_view *v, double **cdf_out, char *err,
                           size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(v, 0, sizeof *v);
    *cdf_out = NULL;
    v->kind = NPG_INIT_MONODISPERSE;
    v->n = cfg->src.size_n;
    v->sigma_s = cfg->model.sigma_s;
    return 0;
}
