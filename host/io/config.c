/* config.c: the YAML configuration layer (libyaml document API) behind npgrow/config.h.
 *
 * Loads a config (optionally pulling system parameters from a preset file), checks every value
 * against the bounds of model.md 1.8 and the schema of configs/pt-acac.yaml, and reports the
 * first problem as "file:line:column: key: value: what is allowed". Also reads the optional
 * coalescence: and source: sections (issue 11; the simulation lives elsewhere; mode: brownian
 * with its reaction shell, issue 12), the CSV files they name, and the pair: section of `npgrow
 * pair` (with pair-section helpers sigma(t), D_r(t)). Writes the resolved config back as YAML. It
 * knows nothing about rate tables, engines or output directories.
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

#include "npgrow/coalesce.h" /* NPG_COAL_STEP_RESOLUTION */
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

/* Boolean key: a plain true or false. *out is left alone when the key is absent. */
static int get_bool(const sect *s, const char *key, const char *allowed, int *out)
{
    const yaml_node_t *v = lookup(s->L, s->map, key);
    if (!v)
        return 0;
    const char *b = v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                        ? scalar(v)
                        : "";
    if (strcmp(b, "true") && strcmp(b, "false")) {
        char path[160];
        key_path(s, key, path, sizeof path);
        return fail(s->L, v, path, "wrong type: true or false (%s)", allowed);
    }
    *out = strcmp(b, "true") == 0;
    return 0;
}

/* The mapping under `key` of section s as a section of its own named `name` (a dotted path that
 * outlives it), reported at its key. *found = 0 when absent: an error only when `required`. */
static int get_sub(const sect *s, const char *key, const char *name, int required,
                   const char *allowed, sect *out, int *found)
{
    *found = 0;
    for (yaml_node_pair_t *p = s->map->data.mapping.pairs.start; p < s->map->data.mapping.pairs.top;
         ++p) {
        yaml_node_t *k = node_at(s->L, p->key);
        if (!k || k->type != YAML_SCALAR_NODE || strcmp(scalar(k), key))
            continue;
        yaml_node_t *v = node_at(s->L, p->value);
        if (!v || v->type != YAML_MAPPING_NODE)
            return fail(s->L, v, name, "wrong type: a mapping {%s}", allowed);
        out->L = s->L;
        out->map = v;
        out->mark = k->start_mark;
        out->name = name;
        *found = 1;
        return 0;
    }
    return required ? fail_missing(s, key, "required: a mapping {%s}", allowed) : 0;
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
    static const char *const keys[] = {"mode",
                                       "supersaturation",
                                       "volume_nm3",
                                       "particle_density_nm3",
                                       "solubility_nm3",
                                       "initial_supersaturation",
                                       "precursor_nm3",
                                       "k_p",
                                       "tolerance",
                                       "monomer_exchange",
                                       NULL};
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
    /* every mode: false switches association and dissociation off (coalescence alone) */
    int exchange = 1;
    if ((rc = get_bool(&s, "monomer_exchange",
                       "monomer association and dissociation on; false = coalescence alone",
                       &exchange)))
        return rc;
    cfg->no_monomer_exchange = !exchange;
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

/* ---- two-column CSV files (the initial histogram, the source's entries) ------------------ */

/* One data row of a CSV: its two fields (trimmed), the row's mark (column 0) and the column of
 * the second field. Returns 0, or an error whose messages point into the CSV through C. */
typedef int (*csv_row_fn)(void *ctx, const ldr *C, yaml_mark_t m, char *f1, char *f2, size_t col2);

/* Read the CSV that scalar fv names (relative to cfgdir unless absolute), whose header is
 * `h1,h2`: the path opened into full[1024], its absolute form into resolved[rlen] (so that
 * run.yaml reloads from anywhere), each data row to `row`. Blank lines and `#` lines are
 * skipped; a file without a header line is an error at fv. */
static int read_csv2(const ldr *L, const yaml_node_t *fv, const char *key, const char *cfgdir,
                     const char *h1, const char *h2, char *full, char *resolved, size_t rlen,
                     csv_row_fn row, void *ctx)
{
    const char *name = scalar(fv);
    int k = name[0] == '/' ? snprintf(full, 1024, "%s", name)
                           : snprintf(full, 1024, "%s/%s", cfgdir, name);
    if (k < 0 || k >= 1024)
        return fail(L, fv, key, "path too long (at most 1023 characters)");
    FILE *f = fopen(full, "r");
    if (!f)
        return fail(L, fv, key,
                    "cannot open %s (%s): a CSV file with header %s,%s, path relative to the "
                    "config file",
                    full, strerror(errno), h1, h2);
    char *res = realpath(full, NULL);
    snprintf(resolved, rlen, "%s", res ? res : full);
    free(res);

    ldr C = {full, NULL, L->err, L->errlen};
    char line[1024];
    size_t lineno = 0;
    int rc = 0, header = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        ++lineno;
        yaml_mark_t m = {0, lineno - 1, 0};
        if (!strchr(line, '\n') && !feof(f)) {
            rc = fail_mark(&C, m, key, "(long line)", "lines of at most 1022 chars");
            break;
        }
        char *t = trim(line);
        if (!*t || *t == '#')
            continue;
        char *comma = strchr(t, ',');
        if (!header) {
            if (comma) {
                char h[1024];
                snprintf(h, sizeof h, "%s", t);
                char *hc = h + (comma - t);
                *hc = '\0';
                header = strcmp(trim(h), h1) == 0 && strcmp(trim(hc + 1), h2) == 0;
            }
            if (!header)
                rc = fail_mark(&C, m, key, t, "a header line %s,%s", h1, h2);
            continue;
        }
        if (!comma) {
            rc = fail_mark(&C, m, key, t, "a row %s,%s", h1, h2);
            break;
        }
        *comma = '\0';
        char *f2 = trim(comma + 1);
        rc = row(ctx, &C, m, trim(t), f2, (size_t)(f2 - line));
    }
    fclose(f);
    if (!rc && !header)
        rc = fail(L, fv, key, "%s is empty: a CSV with header %s,%s and rows", full, h1, h2);
    return rc;
}

/* Where a size law goes: initial: (cfg->init_*) or source.size: (cfg->src.size_*). */
typedef struct size_law {
    npg_init_kind *kind;
    uint32_t *n;
    double *mean_r_nm, *sd_r_nm;
    char *file; /* resolved histogram path */
    size_t file_len;
    size_t *table_len;
    uint32_t **sizes;
    double **counts;
} size_law;

static size_law initial_law(npg_config *cfg)
{
    size_law w = {&cfg->init_kind,      &cfg->init_n,     &cfg->init_mean_r_nm,
                  &cfg->init_sd_r_nm,   cfg->init_file,   sizeof cfg->init_file,
                  &cfg->init_table_len, &cfg->init_sizes, &cfg->init_counts};
    return w;
}

static size_law source_law(npg_config *cfg)
{
    npg_source_config *s = &cfg->src;
    size_law w = {&s->size_kind,      &s->size_n,     &s->size_mean_r_nm,
                  &s->size_sd_r_nm,   s->size_file,   sizeof s->size_file,
                  &s->size_table_len, &s->size_sizes, &s->size_counts};
    return w;
}

typedef struct hist_ctx {
    const size_law *w;
    const char *key;
    size_t cap;
    double total, all; /* counts at n >= 2; all counts (the sampler's CDF sum) */
} hist_ctx;

/* One row n,count of a histogram: n an integer in [1, 4e9), strictly increasing; count >= 0. */
static int hist_row(void *ctx, const ldr *C, yaml_mark_t m, char *fn, char *fc, size_t col2)
{
    hist_ctx *h = ctx;
    const size_law *w = h->w;
    char *end;
    double n = strtod(fn, &end);
    if (end == fn || *end || !(n >= 1.0 && n < NPG_CFG_N_LIMIT) || n != floor(n))
        return fail_mark(C, m, h->key, fn, "n: an integer in [1, 4e9)");
    double c = strtod(fc, &end);
    yaml_mark_t mc = m;
    mc.column = col2;
    if (end == fc || *end || !isfinite(c) || c < 0.0)
        return fail_mark(C, mc, h->key, fc, "count: a number >= 0");
    size_t i = *w->table_len;
    if (i > 0 && !((uint32_t)n > (*w->sizes)[i - 1]))
        return fail_mark(C, m, h->key, fn, "n: strictly increasing (after %u)", (*w->sizes)[i - 1]);
    if (i == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 256;
        uint32_t *ns = realloc(*w->sizes, h->cap * sizeof *ns);
        if (ns)
            *w->sizes = ns;
        double *cs = realloc(*w->counts, h->cap * sizeof *cs);
        if (cs)
            *w->counts = cs;
        if (!ns || !cs)
            return fail_mark(C, m, h->key, fn, "out of memory");
    }
    (*w->sizes)[i] = (uint32_t)n;
    (*w->counts)[i] = c;
    *w->table_len = i + 1;
    h->all += c;
    if (n >= 2.0)
        h->total += c;
    return 0;
}

/* Read a histogram CSV (header n,count) into w. Messages point into the CSV. */
static int read_histogram(const ldr *L, const yaml_node_t *fv, const char *key, const char *cfgdir,
                          const size_law *w)
{
    hist_ctx h = {w, key, 0, 0.0, 0.0};
    char full[1024];
    int rc = read_csv2(L, fv, key, cfgdir, "n", "count", full, w->file, w->file_len, hist_row, &h);
    if (rc)
        return rc;
    if (!isfinite(h.total))
        return fail(L, fv, key,
                    "the counts in %s sum to more than 1.8e308: counts are relative weights; "
                    "scale them down",
                    full);
    if (!(h.total > 0.0))
        return fail(L, fv, key,
                    "no counts at n >= 2 in %s: at least one row with n >= 2 and count > 0", full);
    if (!isfinite(h.all))
        return fail(L, fv, key,
                    "the counts in %s sum beyond 1.8e308: relative weights with a finite sum",
                    full);
    for (size_t i = 0; i < *w->table_len; ++i)
        if ((*w->sizes)[i] < NPG_CFG_SMALL_N && (*w->counts)[i] > 0.0) {
            print_warning(L, fv->start_mark,
                          "%s: %s has counts below n = %d (n = %u): the s = 2 site-count step "
                          "(model.md 1.3) acts there as an artificial barrier",
                          key, full, NPG_CFG_SMALL_N, (*w->sizes)[i]);
            break;
        }
    return 0;
}

/* A size law (section s: `initial`, or `source.size`) into w. *psmall: for normal/lognormal
 * laws, the fraction below n = 20 (warned about by npg_config_check, which knows the particle
 * count). */
static int parse_size(const sect *s, const char *cfgdir, double sigma_s, const size_law *w,
                      double *psmall)
{
    static const char *const keys[] = {"kind", "n", "mean_r_nm", "sd_r_nm", "file", NULL};
    static const char *const kinds[] = {"monodisperse", "normal", "lognormal", "histogram", NULL};
    static const char *const not_mono[] = {"mean_r_nm", "sd_r_nm", "file", NULL};
    static const char *const not_dist[] = {"n", "file", NULL};
    static const char *const not_hist[] = {"n", "mean_r_nm", "sd_r_nm", NULL};
    static const int code[] = {NPG_INIT_MONODISPERSE, NPG_INIT_NORMAL_R, NPG_INIT_LOGNORMAL_R,
                               NPG_INIT_HISTOGRAM};
    const ldr *L = s->L;
    const char *verb = strcmp(s->name, "initial") == 0 ? "start" : "enter";
    char path[160];
    int rc, kind;
    if ((rc = check_keys(L, s->map, s->name, keys)) || (rc = get_enum(s, "kind", kinds, &kind)))
        return rc;
    *w->kind = (npg_init_kind)code[kind];
    const yaml_node_t *v;
    if (*w->kind == NPG_INIT_MONODISPERSE) {
        uint64_t n = 0;
        if ((rc = reject_unused(s, not_mono, "kind: monodisperse")) ||
            (rc = get_int(s, "n", 1, 2.0, NPG_CFG_N_LIMIT - 1.0,
                          "an integer >= 2 (monomers per particle)", &n, &v)))
            return rc;
        *w->n = (uint32_t)n;
        key_path(s, "n", path, sizeof path);
        if (n < NPG_CFG_SMALL_N)
            print_warning(L, v->start_mark,
                          "%s: %u: particles %s below n = %d, where the s = 2 site-count step "
                          "(model.md 1.3) acts as an artificial barrier",
                          path, *w->n, verb, NPG_CFG_SMALL_N);
        return 0;
    }
    if (*w->kind == NPG_INIT_HISTOGRAM) {
        const char *file;
        if ((rc = reject_unused(s, not_hist, "kind: histogram")) ||
            (rc = get_str(s, "file", 1, "a CSV file with header n,count", &file, &v)))
            return rc;
        key_path(s, "file", path, sizeof path);
        return read_histogram(L, v, path, cfgdir, w);
    }
    const yaml_node_t *vm;
    if ((rc = reject_unused(s, not_dist, kind == 1 ? "kind: normal" : "kind: lognormal")) ||
        (rc = get_num(s, "mean_r_nm", 1, 0.0, HUGE_VAL, OPEN_LO, "a number > 0 (mean radius [nm])",
                      w->mean_r_nm, &vm)) ||
        (rc = get_num(s, "sd_r_nm", 1, 0.0, HUGE_VAL, OPEN_LO,
                      "a number > 0 (sd of the radius [nm])", w->sd_r_nm, &v)))
        return rc;
    /* The sampler redraws sizes outside [2, 4e9); a law that almost never lands there is an
     * error, not a silent pile-up at the fallback size. */
    double m = *w->mean_r_nm, sd = *w->sd_r_nm;
    double r2 = radius_of_n(sigma_s, 2.0), rmax = sigma_s * cbrt(NPG_CFG_N_LIMIT - 0.5);
    double F2 = radius_cdf(*w->kind, m, sd, r2);
    double Fmax = radius_cdf(*w->kind, m, sd, rmax);
    double pvalid = Fmax - F2;
    key_path(s, "mean_r_nm", path, sizeof path);
    if (!(pvalid > NPG_CFG_MIN_P_VALID))
        return fail(L, vm, path,
                    "P(2 <= n < 4e9) = %.3g with sd_r_nm = %g and sigma_s = %g nm: a size law "
                    "with P > %g (radii between %.4g and %.4g nm)",
                    pvalid, sd, sigma_s, NPG_CFG_MIN_P_VALID, r2, rmax);
    *psmall = (radius_cdf(*w->kind, m, sd, radius_of_n(sigma_s, NPG_CFG_SMALL_N)) - F2) / pvalid;
    return 0;
}

static int parse_initial(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, const char *cfgdir,
                         npg_config *cfg, double *psmall)
{
    sect s = {L, map, mark, "initial"};
    size_law w = initial_law(cfg);
    return parse_size(&s, cfgdir, cfg->model.sigma_s, &w, psmall);
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
    yaml_mark_t none = {0, 0, 0};
    sect s = {L, map, none, "output"};
    int rc = get_bool(&s, "hdf5", "write run.h5", &cfg->hdf5);
    if (rc)
        return rc;
    const yaml_node_t *v = lookup(L, map, "snapshots");
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
    static const char *const keys[] = {"histogram_bin_width",
                                       "histogram_log_ratio",
                                       "trajectories",
                                       "hdf5",
                                       "snapshots",
                                       "coalescence_events",
                                       NULL};
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
    if ((rc = get_int(&s, "coalescence_events", 0, 0.0, 1e8,
                      "an integer in [0, 1e8] (merges sampled into coalescence.csv)",
                      &cfg->coal.output_events, &v)))
        return rc;
    return parse_output_h5(L, map, cfg);
}

static int parse_me(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, npg_config *cfg)
{
    static const char *const keys[] = {"n_max", "resolution", NULL};
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
    if ((rc = get_int(&s, "resolution", 0, 0.0, 1e6,
                      "0 (one cell per size: the exact master equation) or an integer R in [16, "
                      "1e6] (sizes n >= 2R lumped into cells of width floor(n/R))",
                      &u, &v)))
        return rc;
    if (v && u && u < NPG_ME_RESOLUTION_MIN)
        return fail(L, v, "me.resolution",
                    "out of range: 0 (one cell per size: the exact master equation) or an "
                    "integer R in [16, 1e6] (sizes n >= 2R lumped into cells of width "
                    "floor(n/R))");
    if (v)
        cfg->me_resolution = (uint32_t)u;
    return 0;
}

/* ---- coalescence, source ---------------------------------------------------------------- */

/* Hard bounds of the coalescence keys: far beyond any physical value, and low enough that the
 * kernel's products stay finite in double precision. */
#define NPG_CFG_RATE_MAX   1e30 /* rate coefficients [nm^3/s] */
#define NPG_CFG_LENGTH_MAX 1e6  /* lengths [nm] */
#define NPG_CFG_D_MAX      1e20 /* diffusion coefficient [nm^2/s] */
#define NPG_CFG_TIME_MAX   1e15 /* times [time unit], as run.t_end */
/* Two volumes (supply and coalescence) agree when they differ by at most this, relatively. */
#define NPG_CFG_VOLUME_RTOL 1e-9

/* V [nm^3] from a volume or a particle density; 0 when neither is given. */
static double volume_of(double volume_nm3, double density_nm3, uint64_t particles)
{
    if (volume_nm3 > 0.0)
        return volume_nm3;
    return density_nm3 > 0.0 ? (double)particles / density_nm3 : 0.0;
}

static int volumes_agree(double a, double b)
{
    return fabs(a - b) <= NPG_CFG_VOLUME_RTOL * fmax(a, b);
}

/* coalescence.volume_nm3 / particle_density_nm3: one of them, or (closed and precursor supply)
 * the supply's, copied; both sections given must agree. Runs after run: (particles). */
static int parse_coal_volume(const sect *s, npg_config *cfg)
{
    npg_coal_config *c = &cfg->coal;
    const char *allowed = "exactly one of volume_nm3 [nm^3] in (0, 1e30] or particle_density_nm3 "
                          "[nm^-3] in (0, 1e6] (particles per volume at t = 0)";
    const yaml_node_t *vv, *vd;
    int rc;
    if ((rc = get_num(s, "volume_nm3", 0, 0.0, 1e30, OPEN_LO, allowed, &c->volume_nm3, &vv)) ||
        (rc = get_num(s, "particle_density_nm3", 0, 0.0, 1e6, OPEN_LO, allowed,
                      &c->particle_density_nm3, &vd)))
        return rc;
    if (vv && vd)
        return fail(s->L, vd, "coalescence.particle_density_nm3",
                    "given together with volume_nm3: %s", allowed);
    int shared = cfg->supply != NPG_SUPPLY_SCHEDULE;
    if (!vv && !vd) {
        if (!shared)
            return fail_missing(s, "volume_nm3",
                                "required with mode: well-mixed or brownian (or from a closed "
                                "or precursor supply): %s",
                                allowed);
        c->volume_nm3 = cfg->volume_nm3; /* the supply's, as it was given */
        c->particle_density_nm3 = cfg->particle_density_nm3;
        return 0;
    }
    if (!shared)
        return 0;
    double vs = volume_of(cfg->volume_nm3, cfg->particle_density_nm3, cfg->particles);
    double vc = volume_of(c->volume_nm3, c->particle_density_nm3, cfg->particles);
    if (!volumes_agree(vs, vc))
        return fail(s->L, vv ? vv : vd,
                    vv ? "coalescence.volume_nm3" : "coalescence.particle_density_nm3",
                    "V = %.17g nm^3 disagrees with supply.%s (V = %.17g nm^3 with %llu "
                    "particles): the two must give the same volume (relative 1e-9); give it in "
                    "one of the two sections",
                    vc, cfg->volume_nm3 > 0.0 ? "volume_nm3" : "particle_density_nm3", vs,
                    (unsigned long long)cfg->particles);
    return 0;
}

/* The kernel keys: k_const (constant), k_add (additive), or the Brownian kernel's intrinsic rate,
 * diffusion: and time_factor:. */
static int parse_coal_kernel(const sect *s, npg_coal_config *c)
{
    static const char *const kernels[] = {"brownian", "constant", "additive", NULL};
    static const char *const not_constant[] = {"k_add_nm3_per_s", "intrinsic_rate_nm3_per_s",
                                               "diffusion", "time_factor", NULL};
    static const char *const not_additive[] = {"k_const_nm3_per_s", "intrinsic_rate_nm3_per_s",
                                               "diffusion", "time_factor", NULL};
    static const char *const not_brownian[] = {"k_const_nm3_per_s", "k_add_nm3_per_s", NULL};
    int rc, kernel = NPG_KERNEL_BROWNIAN;
    const yaml_node_t *v;
    if (lookup(s->L, s->map, "kernel") && (rc = get_enum(s, "kernel", kernels, &kernel)))
        return rc;
    c->kernel = (npg_coal_kernel)kernel;
    if (kernel == NPG_KERNEL_CONSTANT) {
        if ((rc = reject_unused(s, not_constant, "kernel: constant")))
            return rc;
        return get_num(s, "k_const_nm3_per_s", 1, 0.0, NPG_CFG_RATE_MAX, OPEN_LO,
                       "a number in (0, 1e30] (constant kernel K [nm^3/s])", &c->k_const_nm3_per_s,
                       &v);
    }
    if (kernel == NPG_KERNEL_ADDITIVE) {
        if ((rc = reject_unused(s, not_additive, "kernel: additive")))
            return rc;
        return get_num(s, "k_add_nm3_per_s", 1, 0.0, NPG_CFG_RATE_MAX, OPEN_LO,
                       "a number in (0, 1e30] (additive kernel K = k_add (n_i + n_j) "
                       "[nm^3/s per monomer])",
                       &c->k_add_nm3_per_s, &v);
    }
    if ((rc = reject_unused(s, not_brownian, "kernel: brownian")) ||
        (rc = get_num(s, "intrinsic_rate_nm3_per_s", 0, 0.0, NPG_CFG_RATE_MAX, OPEN_LO,
                      "a number in (0, 1e30] (reaction-limited rate k_a [nm^3/s]; leave it out "
                      "for diffusion-limited merging)",
                      &c->intrinsic_rate_nm3_per_s, &v)))
        return rc;
    static const char *const dkeys[] = {"d_ref_nm2_per_s", "r_ref_nm", NULL};
    sect d;
    int found;
    if ((rc = get_sub(s, "diffusion", "coalescence.diffusion", 1,
                      "d_ref_nm2_per_s, r_ref_nm: D_i = D_ref r_ref / (R_i + l)", &d, &found)) ||
        (rc = check_keys(d.L, d.map, d.name, dkeys)) ||
        (rc = get_num(&d, "d_ref_nm2_per_s", 1, 0.0, NPG_CFG_D_MAX, OPEN_LO,
                      "a number in (0, 1e20] (D [nm^2/s] of a particle of hydrodynamic radius "
                      "r_ref_nm)",
                      &c->d_ref_nm2_per_s, &v)) ||
        (rc = get_num(&d, "r_ref_nm", 1, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                      "a number in (0, 1e6] (hydrodynamic radius [nm] at which D = d_ref)",
                      &c->r_ref_nm, &v)))
        return rc;
    static const char *const tkeys[] = {"b_per_time", "c", NULL};
    sect t;
    if ((rc = get_sub(s, "time_factor", "coalescence.time_factor", 0,
                      "b_per_time, c: D times (1 + b t)^-c", &t, &found)))
        return rc;
    if (!found)
        return 0;
    /* b t <= 1e6 x 1e15 and |c| <= 10 keep f(t) = (1 + b t)^-c within 1e-210 .. 1e210 */
    if ((rc = check_keys(t.L, t.map, t.name, tkeys)) ||
        (rc = get_num(&t, "b_per_time", 1, 0.0, 1e6, 0,
                      "a number in [0, 1e6] (b [per time unit] of f(t) = (1 + b t)^-c)",
                      &c->tf_b_per_time, &v)) ||
        (rc = get_num(&t, "c", 1, -10.0, 10.0, 0,
                      "a number in [-10, 10] (exponent c of f(t) = (1 + b t)^-c)", &c->tf_c, &v)))
        return rc;
    return 0;
}

/* mode: brownian: the reaction shell (model.md 3.2, 3.7) and the initial exclusion distance. */
static int parse_coal_shell(const sect *s, npg_coal_config *c)
{
    static const char *const shells[] = {"gaussian", "step", NULL};
    static const char *const samplings[] = {"end", "bridge", NULL};
    int rc, shell = NPG_SHELL_GAUSSIAN, sampling = 0;
    const yaml_node_t *v;
    c->shell_width_nm = 0.1;
    c->step_resolution = NPG_COAL_STEP_RESOLUTION;
    c->split_steps = 100;
    if ((rc = get_num(s, "kappa_c_per_s", 1, 0.0, NPG_CFG_RATE_MAX, 0,
                      "a number in [0, 1e30] (shell hazard kappa_c [1/s] at full propensity; "
                      "0 = no merging)",
                      &c->kappa_c_per_s, &v)) ||
        (rc = get_num(s, "shell_width_nm", 0, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                      "a number in (0, 1e6] (shell width [nm]: nu of the gaussian shell, "
                      "half-width w of the step shell; default 0.1)",
                      &c->shell_width_nm, &v)) ||
        (lookup(s->L, s->map, "shell") && (rc = get_enum(s, "shell", shells, &shell))) ||
        (rc = get_num(s, "initial_min_distance_nm", 0, 0.0, NPG_CFG_LENGTH_MAX, 0,
                      "a number in [0, 1e6] (r_c [nm]: no pair closer at t = 0; default 0)",
                      &c->initial_min_distance_nm, &v)) ||
        (lookup(s->L, s->map, "shell_sampling") &&
         (rc = get_enum(s, "shell_sampling", samplings, &sampling))) ||
        (rc = get_num(s, "step_resolution", 0, 0.0, 1e3, OPEN_LO,
                      "a number in (0, 1e3] (automatic time step: sqrt(2 D_max dt) <= "
                      "shell_width_nm / step_resolution; default 3)",
                      &c->step_resolution, &v)) ||
        (rc = get_int(s, "split_steps", 0, 1.0, 1e6,
                      "an integer in [1, 1e6] (with monomer exchange, the monomer SSA and the "
                      "dynamics alternate every this many Brownian steps; with step_resolution "
                      "r < 3, every max(1, round(split_steps (r/3)^2)) steps, the same time; "
                      "default 100)",
                      &c->split_steps, &v)))
        return rc;
    if (sampling == 1 && shell != NPG_SHELL_GAUSSIAN)
        return fail(s->L, lookup(s->L, s->map, "shell_sampling"), "coalescence.shell_sampling",
                    "bridge needs shell: gaussian (the step shell is sampled at step ends: "
                    "shell_sampling: end)");
    c->shell = (npg_coal_shell)shell;
    c->shell_sampling = sampling;
    return 0;
}

static int parse_coalescence(const ldr *L, const yaml_node_t *map, yaml_mark_t mark,
                             npg_config *cfg)
{
    static const char *const keys[] = {"mode",
                                       "volume_nm3",
                                       "particle_density_nm3",
                                       "kernel",
                                       "k_const_nm3_per_s",
                                       "k_add_nm3_per_s",
                                       "intrinsic_rate_nm3_per_s",
                                       "diffusion",
                                       "time_factor",
                                       "ligand_nm",
                                       "propensity",
                                       "epsilon",
                                       "kappa_c_per_s",
                                       "shell_width_nm",
                                       "shell",
                                       "initial_min_distance_nm",
                                       "shell_sampling",
                                       "step_resolution",
                                       "split_steps",
                                       NULL};
    /* the spatial mode's keys, and the well-mixed kernel's (the shell hazard replaces it) */
    static const char *const spatial[] = {
        "kappa_c_per_s",  "shell_width_nm",  "shell",       "initial_min_distance_nm",
        "shell_sampling", "step_resolution", "split_steps", NULL};
    static const char *const kernel_keys[] = {"kernel", "k_const_nm3_per_s", "k_add_nm3_per_s",
                                              "intrinsic_rate_nm3_per_s", NULL};
    static const char *const modes[] = {"none", "well-mixed", "brownian", NULL};
    sect s = {L, map, mark, "coalescence"};
    npg_coal_config *c = &cfg->coal;
    int rc, mode;
    const yaml_node_t *v;
    if ((rc = check_keys(L, map, "coalescence", keys)) || (rc = get_enum(&s, "mode", modes, &mode)))
        return rc;
    if (mode == NPG_COAL_NONE)
        return reject_unused(&s, keys + 1, "mode: none");
    if (mode == NPG_COAL_WELL_MIXED &&
        (rc = reject_unused(&s, spatial, "mode: well-mixed (a shell of mode: brownian)")))
        return rc;
    /* The spatial mode reacts through its shell hazard, not a pair kernel: kernel keys are
     * refused like any key a mode does not use. The particle engine still refuses the mode
     * itself at run time (exit 2) until Coalescence II; `npgrow pair` uses these keys. */
    if (mode == NPG_COAL_BROWNIAN &&
        ((rc = reject_unused(&s, kernel_keys,
                             "mode: brownian (pairs react through the shell hazard "
                             "kappa_c_per_s, not a kernel)")) ||
         (rc = parse_coal_shell(&s, c))))
        return rc;
    c->mode = (npg_coal_mode)mode;
    if ((rc = parse_coal_volume(&s, cfg)) || (rc = parse_coal_kernel(&s, c)) ||
        (rc = get_num(&s, "ligand_nm", 0, 0.0, NPG_CFG_LENGTH_MAX, 0,
                      "a number in [0, 1e6] (ligand shell l [nm])", &c->ligand_nm, &v)) ||
        (rc = get_num(&s, "epsilon", 0, 0.0, 0.5, OPEN_LO,
                      "a number in (0, 0.5] (largest expected merges per particle per "
                      "synchronization interval)",
                      &c->epsilon, &v)))
        return rc;
    static const char *const pkeys[] = {"kind", "gamma_per_nm", "sigma_c_nm", NULL};
    static const char *const pkinds[] = {"none", "fermi", NULL};
    sect p;
    int found, kind;
    if ((rc = get_sub(&s, "propensity", "coalescence.propensity", 0,
                      "kind: none | fermi, gamma_per_nm, sigma_c_nm", &p, &found)))
        return rc;
    if (!found)
        return 0;
    if ((rc = check_keys(L, p.map, p.name, pkeys)) || (rc = get_enum(&p, "kind", pkinds, &kind)))
        return rc;
    c->propensity = (npg_coal_propensity)kind;
    if (kind == NPG_PROPENSITY_NONE)
        return reject_unused(&p, pkeys + 1, "kind: none");
    if ((rc = get_num(&p, "gamma_per_nm", 1, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                      "a number in (0, 1e6] (steepness gamma [1/nm] of the Fermi switch "
                      "1/(exp(gamma (R_i + R_j - sigma_c)) + 1))",
                      &c->gamma_per_nm, &v)) ||
        (rc = get_num(&p, "sigma_c_nm", 1, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                      "a number in (0, 1e6] (contact distance sigma_c [nm] where the Fermi "
                      "switch is 1/2)",
                      &c->sigma_c_nm, &v)))
        return rc;
    return 0;
}

typedef struct entries_ctx {
    npg_source_config *src;
    const char *key;
    size_t cap;
} entries_ctx;

/* One row t,n of an entries file: t in [0, 1e15] non-decreasing, n an integer in [2, 4e9). */
static int entries_row(void *ctx, const ldr *C, yaml_mark_t m, char *ft, char *fn, size_t col2)
{
    entries_ctx *e = ctx;
    npg_source_config *src = e->src;
    char *end;
    double t = strtod(ft, &end);
    if (end == ft || *end || !(t >= 0.0 && t <= NPG_CFG_TIME_MAX))
        return fail_mark(C, m, e->key, ft, "t: a time in [0, 1e15] [time unit]");
    size_t i = src->entries_len;
    if (i > 0 && t < src->entries_t[i - 1])
        return fail_mark(C, m, e->key, ft, "t: non-decreasing (after %.17g)",
                         src->entries_t[i - 1]);
    double n = strtod(fn, &end);
    yaml_mark_t mn = m;
    mn.column = col2;
    if (end == fn || *end || !(n >= 2.0 && n < NPG_CFG_N_LIMIT) || n != floor(n))
        return fail_mark(C, mn, e->key, fn,
                         "n: an integer in [2, 4e9) (monomers of the entering particle)");
    if ((double)i >= NPG_CONFIG_CAPACITY_LIMIT)
        return fail_mark(C, m, e->key, ft, "more than %.0f entries: at most 2^32 - 2 in all",
                         NPG_CONFIG_CAPACITY_LIMIT);
    if (i == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 256;
        double *ts = realloc(src->entries_t, e->cap * sizeof *ts);
        if (ts)
            src->entries_t = ts;
        uint32_t *ns = realloc(src->entries_n, e->cap * sizeof *ns);
        if (ns)
            src->entries_n = ns;
        if (!ts || !ns)
            return fail_mark(C, m, e->key, ft, "out of memory");
    }
    src->entries_t[i] = t;
    src->entries_n[i] = (uint32_t)n;
    src->entries_len = i + 1;
    return 0;
}

static int parse_source(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, const char *cfgdir,
                        npg_config *cfg)
{
    static const char *const keys[] = {"rate_per_time", "t_start",      "t_stop",
                                       "size",          "entries_file", NULL};
    static const char *const poisson[] = {"rate_per_time", "t_start", "t_stop", "size", NULL};
    sect s = {L, map, mark, "source"};
    npg_source_config *src = &cfg->src;
    const char *allowed = "either rate_per_time, t_start, t_stop, size (a Poisson stream of "
                          "entries) or entries_file (a CSV t,n)";
    int rc;
    const yaml_node_t *v;
    if ((rc = check_keys(L, map, "source", keys)))
        return rc;
    const yaml_node_t *vf = lookup(L, map, "entries_file");
    if (vf) {
        const char *file;
        for (const char *const *k = poisson; *k; ++k)
            if ((v = lookup(L, map, *k))) {
                char path[64];
                snprintf(path, sizeof path, "source.%s", *k);
                return fail(L, v, path, "given together with entries_file: %s", allowed);
            }
        if ((rc = get_str(&s, "entries_file", 1, "a CSV file with header t,n", &file, &vf)))
            return rc;
        src->kind = NPG_SOURCE_FILE;
        entries_ctx e = {src, "source.entries_file", 0};
        char full[1024];
        rc = read_csv2(L, vf, "source.entries_file", cfgdir, "t", "n", full, src->entries_file,
                       sizeof src->entries_file, entries_row, &e);
        if (!rc && src->entries_len == 0)
            print_warning(L, vf->start_mark,
                          "source.entries_file: %s has no rows: no particles enter", full);
        return rc;
    }
    if (!lookup(L, map, "rate_per_time"))
        return fail_missing(&s, "rate_per_time", "required: %s", allowed);
    src->kind = NPG_SOURCE_POISSON;
    const yaml_node_t *vs;
    if ((rc = get_num(&s, "rate_per_time", 1, 0.0, NPG_CFG_RATE_MAX, OPEN_LO,
                      "a number in (0, 1e30] (mean entries per time unit)", &src->rate_per_time,
                      &v)) ||
        (rc = get_num(&s, "t_start", 0, 0.0, NPG_CFG_TIME_MAX, 0,
                      "a number in [0, 1e15] (first time of entries [time unit]; default 0)",
                      &src->t_start, &v)) ||
        (rc = get_num(&s, "t_stop", 1, 0.0, NPG_CFG_TIME_MAX, OPEN_LO,
                      "a number in (t_start, 1e15] (entries stop [time unit])", &src->t_stop, &vs)))
        return rc;
    if (!(src->t_stop > src->t_start))
        return fail(L, vs, "source.t_stop",
                    "out of range: a number in (t_start, 1e15] = (%.17g, "
                    "1e15] [time unit]",
                    src->t_start);
    sect z;
    int found;
    double psmall;
    size_law w = source_law(cfg);
    if ((rc = get_sub(&s, "size", "source.size", 1,
                      "kind: monodisperse | normal | lognormal | histogram, and its keys as in "
                      "initial:",
                      &z, &found)) ||
        (rc = parse_size(&z, cfgdir, cfg->model.sigma_s, &w, &psmall)))
        return rc;
    return 0;
}

/* ---- pair ------------------------------------------------------------------------------ */

/* The reach of the shell's fine grid beyond its centre [nm] (host/meanfield/pair.c): 8 nu
 * (gaussian: exp(-32) ~ 1e-14 of its peak) or 2 w (step). pair.rmax_nm must hold it twice. */
static double shell_reach(const npg_coal_config *c)
{
    return c->shell == NPG_SHELL_STEP ? 2.0 * c->shell_width_nm : 8.0 * c->shell_width_nm;
}

/* pair.sigma: {kind: frozen, nm} or {kind: polynomial, coefficients: [c0, c1, ...]}, t_offset. */
static int parse_pair_sigma(const sect *s, npg_pair_config *p)
{
    static const char *const keys[] = {"kind", "nm", "coefficients", "t_offset", NULL};
    static const char *const kinds[] = {"frozen", "polynomial", NULL};
    static const char *const not_frozen[] = {"coefficients", NULL};
    static const char *const not_poly[] = {"nm", NULL};
    sect g;
    int rc, found, kind;
    const yaml_node_t *v;
    if ((rc = get_sub(s, "sigma", "pair.sigma", 1,
                      "kind: frozen, nm | kind: polynomial, coefficients: [c0, c1, ...], "
                      "t_offset",
                      &g, &found)) ||
        (rc = check_keys(g.L, g.map, g.name, keys)) || (rc = get_enum(&g, "kind", kinds, &kind)) ||
        (rc = get_num(&g, "t_offset", 0, -NPG_CFG_TIME_MAX, NPG_CFG_TIME_MAX, 0,
                      "a number in [-1e15, 1e15] (movie time of run time 0 [time unit]: sigma "
                      "and a power-law d_r are evaluated at t + t_offset; default 0)",
                      &p->t_offset, &v)))
        return rc;
    p->sigma = (npg_pair_sigma_kind)kind;
    if (kind == NPG_PAIR_SIGMA_FROZEN)
        return (rc = reject_unused(&g, not_frozen, "kind: frozen"))
                   ? rc
                   : get_num(&g, "nm", 1, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                             "a number in (0, 1e6] (contact distance sigma [nm])", &p->sigma_nm,
                             &v);
    if ((rc = reject_unused(&g, not_poly, "kind: polynomial")))
        return rc;
    const char *allowed = "a list of 1 to 8 numbers [c0, c1, ...]: sigma(t) = sum_k c_k (t + "
                          "t_offset)^k [nm, nm per time unit^k]";
    v = lookup(g.L, g.map, "coefficients");
    if (!v)
        return fail_missing(&g, "coefficients", "required: %s", allowed);
    if (v->type != YAML_SEQUENCE_NODE)
        return fail(g.L, v, "pair.sigma.coefficients", "wrong type: %s", allowed);
    size_t len = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (len < 1 || len > NPG_PAIR_MAX_COEFFS)
        return fail(g.L, v, "pair.sigma.coefficients", "%zu numbers: %s", len, allowed);
    for (size_t i = 0; i < len; ++i) {
        const yaml_node_t *cn = node_at(g.L, v->data.sequence.items.start[i]);
        char path[48];
        snprintf(path, sizeof path, "pair.sigma.coefficients[%zu]", i);
        double x;
        if (parse_number(cn, &x))
            return fail(g.L, cn, path, "wrong type: %s", allowed);
        if (!(fabs(x) <= 1e30))
            return fail(g.L, cn, path, "out of range: a number in [-1e30, 1e30]");
        p->coeffs[i] = x;
    }
    p->n_coeffs = (uint32_t)len;
    return 0;
}

/* pair.d_r: {kind: from_diffusion} or {kind: power, a, b, c}. Absent: from_diffusion. */
static int parse_pair_dr(const sect *s, npg_pair_config *p)
{
    static const char *const keys[] = {"kind", "a", "b", "c", NULL};
    static const char *const kinds[] = {"from_diffusion", "power", NULL};
    sect d;
    int rc, found, kind;
    const yaml_node_t *v;
    if ((rc = get_sub(s, "d_r", "pair.d_r", 0,
                      "kind: from_diffusion | kind: power, a, b, c (relative diffusion "
                      "coefficient D_r(t))",
                      &d, &found)))
        return rc;
    if (!found)
        return 0;
    if ((rc = check_keys(d.L, d.map, d.name, keys)) || (rc = get_enum(&d, "kind", kinds, &kind)))
        return rc;
    p->d_r = (npg_pair_dr_kind)kind;
    if (kind == NPG_PAIR_DR_FROM_DIFFUSION)
        return reject_unused(&d, keys + 1,
                             "kind: from_diffusion (coalescence.diffusion and time_factor)");
    if ((rc = get_num(&d, "a", 1, 0.0, NPG_CFG_D_MAX, OPEN_LO,
                      "a number in (0, 1e20] (D_r = a / (1 + b (t + t_offset))^c: a [nm^2/s])",
                      &p->dr_a_nm2_per_s, &v)) ||
        (rc = get_num(&d, "b", 0, 0.0, 1e6, 0,
                      "a number in [0, 1e6] (b [1/time unit] of D_r = a / (1 + b (t + "
                      "t_offset))^c; default 0)",
                      &p->dr_b_per_time, &v)) ||
        (rc = get_num(&d, "c", 0, -10.0, 10.0, 0,
                      "a number in [-10, 10] (exponent c of D_r = a / (1 + b (t + "
                      "t_offset))^c; default 0)",
                      &p->dr_c, &v)))
        return rc;
    return 0;
}

static int parse_pair(const ldr *L, const yaml_node_t *map, yaml_mark_t mark, npg_config *cfg)
{
    static const char *const keys[] = {"sigma",      "d_r",     "rmax_nm",     "cells",
                                       "quadrature", "initial", "p0_per_time", "t_cut",
                                       "kinetics",   NULL};
    static const char *const quads[] = {"consistent", "shifted", NULL};
    static const char *const kins[] = {"study", "box", NULL};
    static const char *const at[] = {"start", "zero", NULL};
    sect s = {L, map, mark, "pair"};
    npg_pair_config *p = &cfg->pair;
    const npg_coal_config *c = &cfg->coal;
    int rc, quad = NPG_PAIR_QUAD_CONSISTENT, sat = NPG_PAIR_IC_SIGMA_START;
    int kin = NPG_PAIR_KINETICS_STUDY;
    uint64_t u;
    const yaml_node_t *v, *vr;
    p->rmax_nm = 300.0;
    p->cells = 4000;
    p->t_cut = HUGE_VAL;
    if ((rc = check_keys(L, map, "pair", keys)))
        return rc;
    if (c->mode != NPG_COAL_BROWNIAN)
        return fail_mark(L, mark, "pair", "(a mapping)",
                         "needs coalescence: {mode: brownian, ...}: the pair equation takes "
                         "kappa_c_per_s, shell, shell_width_nm, ligand_nm, "
                         "initial_min_distance_nm, propensity and diffusion from there");
    if ((rc = parse_pair_sigma(&s, p)) || (rc = parse_pair_dr(&s, p)) ||
        (rc = get_num(&s, "rmax_nm", 0, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                      "a number in (0, 1e6] (domain x = r - sigma in [0, rmax] [nm]; default "
                      "300)",
                      &p->rmax_nm, &vr)) ||
        (rc = get_int(&s, "cells", 0, 100.0, 1e6,
                      "an integer in [100, 1e6] (finite volumes; default 4000)", &u, &v)))
        return rc;
    if (v)
        p->cells = (uint32_t)u;
    double need = 2.0 * (c->ligand_nm + shell_reach(c));
    if (!(p->rmax_nm >= need)) {
        char text[40];
        snprintf(text, sizeof text, "%.17g", p->rmax_nm);
        return fail_mark(L, vr ? vr->start_mark : mark, "pair.rmax_nm", text,
                         "at least 2 (ligand_nm + %s) = %.6g nm, so that the shell lies well "
                         "inside the domain",
                         c->shell == NPG_SHELL_STEP ? "2 shell_width_nm" : "8 shell_width_nm",
                         need);
    }
    if ((lookup(L, map, "quadrature") && (rc = get_enum(&s, "quadrature", quads, &quad))) ||
        (lookup(L, map, "kinetics") && (rc = get_enum(&s, "kinetics", kins, &kin))) ||
        (rc = get_num(&s, "p0_per_time", 0, 0.0, NPG_CFG_RATE_MAX, 0,
                      "a number in [0, 1e30] (source P0 of dA/dt = P0 [t < t_cut] - k_f A^2 "
                      "[1/time unit]; default 0)",
                      &p->p0_per_time, &v)) ||
        (rc = get_num(&s, "t_cut", 0, 0.0, NPG_CFG_TIME_MAX, 0,
                      "a number in [0, 1e15] (the source acts while t < t_cut [time unit]; "
                      "default: the whole run)",
                      &p->t_cut, &v)))
        return rc;
    p->quadrature = (npg_pair_quadrature)quad;
    p->kinetics = (npg_pair_kinetics)kin;
    static const char *const ikeys[] = {"r_max_nm", "sigma_at", NULL};
    sect i;
    int found;
    if ((rc = get_sub(&s, "initial", "pair.initial", 0,
                      "r_max_nm, sigma_at: start | zero (u = 1 for r_c <= r <= r_max at t = 0)", &i,
                      &found)))
        return rc;
    if (found) {
        if ((rc = check_keys(L, i.map, i.name, ikeys)) ||
            (rc = get_num(&i, "r_max_nm", 0, 0.0, NPG_CFG_LENGTH_MAX, OPEN_LO,
                          "a number in (0, 1e6] (no pairs beyond r_max [nm] at t = 0; default: "
                          "none)",
                          &p->ic_r_max_nm, &v)) ||
            (lookup(L, i.map, "sigma_at") && (rc = get_enum(&i, "sigma_at", at, &sat))))
            return rc;
        if (v && !(p->ic_r_max_nm > c->initial_min_distance_nm))
            return fail(L, v, "pair.initial.r_max_nm",
                        "out of range: more than coalescence.initial_min_distance_nm = %.17g nm "
                        "(else no pairs at t = 0)",
                        c->initial_min_distance_nm);
        p->ic_sigma = (npg_pair_ic_sigma)sat;
    }
    p->present = 1;
    return 0;
}

/* ---- entry points ----------------------------------------------------------------------- */

static int parse_root(const ldr *L, const char *cfgdir, npg_config *cfg)
{
    static const char *const sections[] = {"system", "supply",      "initial", "run",  "output",
                                           "me",     "coalescence", "source",  "pair", NULL};
    yaml_node_t *root = yaml_document_get_root_node(L->doc);
    if (root->type != YAML_MAPPING_NODE)
        return fail(L, root, "(top level)", "a mapping with sections system, supply, initial, run");
    int rc;
    if ((rc = check_keys(L, root, "", sections)))
        return rc;
    enum { NSECT = 9 };
    const yaml_node_t *node[NSECT] = {NULL};
    double psmall = 0.0;
    yaml_mark_t mark[NSECT];
    for (int i = 0; i < NSECT; ++i) {
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
    if (node[6]) {
        where_mark(cfg->where.coalescence, L, mark[6]);
        if ((rc = parse_coalescence(L, node[6], mark[6], cfg)))
            return rc;
    }
    if (node[7]) {
        where_mark(cfg->where.source, L, mark[7]);
        if ((rc = parse_source(L, node[7], mark[7], cfgdir, cfg)))
            return rc;
    }
    if (node[8]) {
        where_mark(cfg->where.pair, L, mark[8]);
        if ((rc = parse_pair(L, node[8], mark[8], cfg)))
            return rc;
    }
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

/* The coalescence volume (finite; equal to the closed supply's) and the Brownian kernel's scale,
 * for the effective particle count and t_end. */
static int check_coalescence(const npg_config *cfg, char *err, size_t errlen)
{
    const npg_coal_config *c = &cfg->coal;
    const char *where = cfg->where.coalescence;
    if (c->mode == NPG_COAL_NONE)
        return 0;
    const char *ckey =
        c->volume_nm3 > 0.0 ? "coalescence.volume_nm3" : "coalescence.particle_density_nm3";
    double vc = volume_of(c->volume_nm3, c->particle_density_nm3, cfg->particles);
    if (!(vc > 0.0) || !isfinite(vc) || vc > 1e30)
        return npg_config_refuse(err, errlen, where, ckey,
                                 "volume V = %g nm^3: a finite volume in (0, 1e30] nm^3", vc);
    if (cfg->supply != NPG_SUPPLY_SCHEDULE) {
        double vs = volume_of(cfg->volume_nm3, cfg->particle_density_nm3, cfg->particles);
        if (!volumes_agree(vs, vc))
            return npg_config_refuse(
                err, errlen, where, ckey,
                "V = %.17g nm^3 disagrees with supply.%s (V = %.17g nm^3 with %llu particles): "
                "the two must give the same volume (relative 1e-9); give it in one of the two "
                "sections",
                vc, cfg->volume_nm3 > 0.0 ? "volume_nm3" : "particle_density_nm3", vs,
                (unsigned long long)cfg->particles);
    }
    if (c->mode == NPG_COAL_BROWNIAN) {
        /* D_i = f(t) D_ref r_ref / (R_i + l) of the smallest particle (n = 2) */
        double f = fmax(1.0, pow(1.0 + c->tf_b_per_time * cfg->t_end, -c->tf_c));
        double dmax =
            f * c->d_ref_nm2_per_s * c->r_ref_nm / (cfg->model.sigma_s * cbrt(2.0) + c->ligand_nm);
        if (!(dmax <= NPG_CFG_D_MAX))
            return npg_config_refuse(
                err, errlen, where, "coalescence.diffusion.d_ref_nm2_per_s",
                "%g: D_i reaches %.3g nm^2/s (time factor up to %.3g): at most 1e20 nm^2/s; "
                "lower d_ref_nm2_per_s, r_ref_nm or the time factor",
                c->d_ref_nm2_per_s, dmax, f);
        return 0;
    }
    if (c->kernel != NPG_KERNEL_BROWNIAN)
        return 0;
    /* An upper bound of 4 pi f(t) D_ref r_ref (1/(R_i + l) + 1/(R_j + l)) (R_i + R_j + l) over
     * sizes in [2, 4e9) and t in [0, t_end] (f is monotone in t). */
    double sig = cfg->model.sigma_s, l = c->ligand_nm;
    double rmin = sig * cbrt(2.0), rmax = sig * cbrt(NPG_CFG_N_LIMIT);
    double f = fmax(1.0, pow(1.0 + c->tf_b_per_time * cfg->t_end, -c->tf_c));
    double kmax =
        4.0 * M_PI * f * c->d_ref_nm2_per_s * c->r_ref_nm * (2.0 / (rmin + l)) * (2.0 * rmax + l);
    if (!(kmax <= NPG_CFG_RATE_MAX))
        return npg_config_refuse(
            err, errlen, where, "coalescence.diffusion.d_ref_nm2_per_s",
            "%g: the Brownian kernel reaches up to %.3g nm^3/s (time factor up to %.3g, radii "
            "%.3g .. %.3g nm, ligand %g nm): at most 1e30 nm^3/s; lower d_ref_nm2_per_s, "
            "r_ref_nm or the time factor",
            c->d_ref_nm2_per_s, kmax, f, rmin, rmax, l);
    return 0;
}

double npg_config_pair_sigma(const npg_config *cfg, double t, double *dsigma)
{
    const npg_pair_config *p = &cfg->pair;
    if (p->sigma == NPG_PAIR_SIGMA_FROZEN) {
        if (dsigma)
            *dsigma = 0.0;
        return p->sigma_nm;
    }
    double T = t + p->t_offset, v = 0.0, d = 0.0;
    for (uint32_t k = p->n_coeffs; k-- > 0;) { /* Horner, with the derivative alongside */
        d = d * T + v;
        v = v * T + p->coeffs[k];
    }
    if (dsigma)
        *dsigma = d;
    return v;
}

double npg_config_pair_dr(const npg_config *cfg, double t)
{
    const npg_pair_config *p = &cfg->pair;
    if (p->d_r == NPG_PAIR_DR_POWER)
        return p->dr_a_nm2_per_s / pow(1.0 + p->dr_b_per_time * (t + p->t_offset), p->dr_c);
    const npg_coal_config *c = &cfg->coal;
    double f = c->tf_c != 0.0 ? pow(1.0 + c->tf_b_per_time * t, -c->tf_c) : 1.0;
    double sigma = npg_config_pair_sigma(cfg, t, NULL);
    return 2.0 * f * c->d_ref_nm2_per_s * c->r_ref_nm / (0.5 * sigma + c->ligand_nm);
}

/* pair: sigma(t) in (0, 1e6] nm and D_r(t) finite and positive over [0, t_end] (sampled at 4097
 * times, and at movie time 0 when the start uses it), for the run's t_end. */
static int check_pair(const npg_config *cfg, char *err, size_t errlen)
{
    const npg_pair_config *p = &cfg->pair;
    if (!p->present)
        return 0;
    const char *where = cfg->where.pair;
    const int K = 4096;
    for (int k = -1; k <= K; ++k) {
        double t = k < 0 ? -p->t_offset : cfg->t_end * k / K;
        if (k < 0 && p->ic_sigma != NPG_PAIR_IC_SIGMA_ZERO)
            continue;
        double sg = npg_config_pair_sigma(cfg, t, NULL);
        if (!(sg > 0.0 && sg <= NPG_CFG_LENGTH_MAX))
            return npg_config_refuse(
                err, errlen, where,
                p->sigma == NPG_PAIR_SIGMA_FROZEN ? "pair.sigma.nm" : "pair.sigma.coefficients",
                "sigma(t) = %g nm at t = %g %s (movie time %g): the contact distance must lie "
                "in (0, 1e6] nm over the run [0, t_end = %g]%s",
                sg, t, cfg->time_unit, t + p->t_offset, cfg->t_end,
                k < 0 ? " and at movie time 0 (initial.sigma_at: zero)" : "");
        double dr = npg_config_pair_dr(cfg, t);
        if (!(dr > 0.0 && dr <= NPG_CFG_D_MAX))
            return npg_config_refuse(
                err, errlen, where, p->d_r == NPG_PAIR_DR_POWER ? "pair.d_r" : "pair.d_r.kind",
                "D_r(t) = %g nm^2/s at t = %g %s: the relative diffusion coefficient must lie "
                "in (0, 1e20] nm^2/s over the run [0, t_end = %g]",
                dr, t, cfg->time_unit, cfg->t_end);
    }
    return 0;
}

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
    int rc = check_coalescence(cfg, err, errlen);
    if (rc || (rc = check_pair(cfg, err, errlen)))
        return rc;
    const npg_source_config *src = &cfg->src;
    size_t late = 0; /* entries after t_end */
    while (late < src->entries_len && src->entries_t[src->entries_len - 1 - late] > cfg->t_end)
        ++late;
    double room = NPG_CONFIG_CAPACITY_LIMIT - (double)cfg->particles;
    if (src->kind == NPG_SOURCE_POISSON) {
        double span = fmin(src->t_stop, cfg->t_end) - src->t_start;
        double mu = span > 0.0 ? src->rate_per_time * span : 0.0;
        if (!(mu + 10.0 * sqrt(mu) <= room))
            return npg_config_refuse(
                err, errlen, w->source, "source.rate_per_time",
                "%g: (min(t_stop, t_end) - t_start) x rate = %g x %g = %.4g expected entries "
                "(%.4g with 10 sd): at most 2^32 - 2 particle slots in all, %.0f beside %llu "
                "particles; lower the rate or shorten [t_start, t_stop)",
                src->rate_per_time, span, src->rate_per_time, mu, mu + 10.0 * sqrt(mu), room,
                (unsigned long long)cfg->particles);
    } else if (src->kind == NPG_SOURCE_FILE && (double)(src->entries_len - late) > room) {
        return npg_config_refuse(err, errlen, w->source, "source.entries_file",
                                 "%zu entries up to t_end: at most 2^32 - 2 particle slots in "
                                 "all, %.0f beside %llu particles",
                                 src->entries_len - late, room, (unsigned long long)cfg->particles);
    }
    if (!warn)
        return 0;
    if (late)
        check_warn(w->source,
                   "source.entries_file: %zu of %zu entries come after t_end = %g %s (the last "
                   "at t = %g): they are ignored",
                   late, src->entries_len, cfg->t_end, cfg->time_unit,
                   src->entries_t[src->entries_len - 1]);
    if (src->kind == NPG_SOURCE_POISSON && !(src->t_start < cfg->t_end))
        check_warn(w->source,
                   "source.t_start: %g >= t_end = %g %s: no particles enter during the run",
                   src->t_start, cfg->t_end, cfg->time_unit);
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
    cfg->coal.epsilon = 0.01;
    cfg->coal.output_events = 100000;
    cfg->me_resolution = NPG_ME_RESOLUTION;
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
    npg_source_config *src = &cfg->src;
    free(src->size_sizes);
    free(src->size_counts);
    free(src->entries_t);
    free(src->entries_n);
    src->size_sizes = NULL;
    src->size_counts = NULL;
    src->entries_t = NULL;
    src->entries_n = NULL;
    src->size_table_len = 0;
    src->entries_len = 0;
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

/* A read-only size law: initial: or source.size:. */
typedef struct size_law_c {
    const char *what; /* its section, for messages */
    npg_init_kind kind;
    uint32_t n;
    double mean_r_nm, sd_r_nm;
    const char *file;
    size_t table_len;
    const uint32_t *sizes;
    const double *counts;
} size_law_c;

static size_law_c initial_law_c(const npg_config *cfg)
{
    size_law_c w = {"initial",           cfg->init_kind,    cfg->init_n,
                    cfg->init_mean_r_nm, cfg->init_sd_r_nm, cfg->init_file,
                    cfg->init_table_len, cfg->init_sizes,   cfg->init_counts};
    return w;
}

static size_law_c source_law_c(const npg_config *cfg)
{
    const npg_source_config *s = &cfg->src;
    size_law_c w = {"source.size",     s->size_kind,    s->size_n,
                    s->size_mean_r_nm, s->size_sd_r_nm, s->size_file,
                    s->size_table_len, s->size_sizes,   s->size_counts};
    return w;
}

/* The sampler's view of size law w (histogram: its CDF allocated into *cdf_out). */
static int law_view(const npg_config *cfg, const size_law_c *w, npg_init_view *v, double **cdf_out,
                    char *err, size_t errlen)
{
    memset(v, 0, sizeof *v);
    if (cdf_out)
        *cdf_out = NULL;
    v->kind = (int)w->kind;
    v->sigma_s = cfg->model.sigma_s;
    switch (w->kind) {
    case NPG_INIT_MONODISPERSE:
        v->n = w->n;
        return 0;
    case NPG_INIT_NORMAL_R:
        v->loc = w->mean_r_nm;
        v->scale = w->sd_r_nm;
        return 0;
    case NPG_INIT_LOGNORMAL_R: {
        /* ln r ~ N(mu, s^2) has E r = exp(mu + s^2/2) and Var r = (E r)^2 (exp(s^2) - 1). */
        double cv = w->sd_r_nm / w->mean_r_nm;
        double s2 = log1p(cv * cv);
        v->loc = log(w->mean_r_nm) - 0.5 * s2;
        v->scale = sqrt(s2);
        return 0;
    }
    case NPG_INIT_HISTOGRAM:
        break;
    }
    if (!cdf_out || w->table_len == 0 || w->table_len > UINT32_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s: histogram table missing or too long", cfg->source,
                     w->what);
        return NPG_EXIT_USAGE;
    }
    size_t len = w->table_len;
    double *cdf = malloc(len * sizeof *cdf);
    if (!cdf) {
        if (err && errlen)
            snprintf(err, errlen, "%s: %s: out of memory for the CDF", cfg->source, w->what);
        return NPG_EXIT_USAGE;
    }
    double total = 0.0;
    size_t last = 0; /* last row with a positive count */
    for (size_t i = 0; i < len; ++i) {
        total += w->counts[i];
        cdf[i] = total;
        if (w->counts[i] > 0.0)
            last = i;
    }
    for (size_t i = 0; i < len; ++i)
        cdf[i] = i >= last ? 1.0 : cdf[i] / total;
    v->cdf = cdf;
    v->sizes = w->sizes;
    v->table_len = (uint32_t)len;
    *cdf_out = cdf;
    return 0;
}

int npg_config_init_view(const npg_config *cfg, npg_init_view *v, double **cdf_out, char *err,
                         size_t errlen)
{
    size_law_c w = initial_law_c(cfg);
    return law_view(cfg, &w, v, cdf_out, err, errlen);
}

int npg_config_source_view(const npg_config *cfg, npg_init_view *v, double **cdf_out, char *err,
                           size_t errlen)
{
    if (cfg->src.kind != NPG_SOURCE_POISSON) {
        memset(v, 0, sizeof *v);
        if (cdf_out)
            *cdf_out = NULL;
        if (err && errlen)
            snprintf(err, errlen, "%s: source: no size law (%s)", cfg->source,
                     cfg->src.kind == NPG_SOURCE_FILE ? "entries_file gives the sizes"
                                                      : "no source: section");
        return NPG_EXIT_USAGE;
    }
    size_law_c w = source_law_c(cfg);
    return law_view(cfg, &w, v, cdf_out, err, errlen);
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

/* The keys of a size law (initial:, source.size:) at indentation ind. */
static void write_size(FILE *f, int ind, const size_law_c *w)
{
    static const char *const kinds[] = {"monodisperse", "normal", "lognormal", "histogram"};
    fprintf(f, "%*skind: %s\n", ind, "", kinds[w->kind]);
    if (w->kind == NPG_INIT_MONODISPERSE) {
        put_uint(f, ind, "n", w->n, "[monomers]");
    } else if (w->kind == NPG_INIT_HISTOGRAM) {
        fprintf(f, "%*sfile: ", ind, "");
        put_quoted(f, w->file);
        fprintf(f, "  # CSV n,count (%zu rows)\n", w->table_len);
    } else {
        put_num(f, ind, "mean_r_nm", w->mean_r_nm, "[nm] mean radius");
        put_num(f, ind, "sd_r_nm", w->sd_r_nm, "[nm] sd of the radius");
    }
}

/* coalescence: (only when a mode is on: absent means none). */
static void write_coalescence(FILE *f, const npg_config *cfg, int i0)
{
    const npg_coal_config *c = &cfg->coal;
    int i1 = i0 + 2, i2 = i0 + 4;
    if (c->mode == NPG_COAL_NONE)
        return;
    static const char *const modes[] = {"none", "well-mixed", "brownian"};
    static const char *const kernels[] = {"brownian", "constant", "additive"};
    fprintf(f, "%*scoalescence:\n%*smode: %s\n", i0, "", i1, "", modes[c->mode]);
    if (c->volume_nm3 > 0.0)
        put_num(f, i1, "volume_nm3", c->volume_nm3, "[nm^3] volume V");
    else
        put_num(f, i1, "particle_density_nm3", c->particle_density_nm3,
                "[nm^-3] particles per volume at t = 0");
    if (c->mode == NPG_COAL_BROWNIAN) {
        put_num(f, i1, "kappa_c_per_s", c->kappa_c_per_s, "[1/s] shell hazard at full propensity");
        fprintf(f, "%*sshell: %s  # hazard kappa %s\n", i1, "",
                c->shell == NPG_SHELL_STEP ? "step" : "gaussian",
                c->shell == NPG_SHELL_STEP ? "inside [sigma + l - w, sigma + l + w]"
                                           : "exp(-(r - sigma - l)^2 / (2 nu^2))");
        put_num(f, i1, "shell_width_nm", c->shell_width_nm,
                c->shell == NPG_SHELL_STEP ? "[nm] w" : "[nm] nu");
        put_num(f, i1, "initial_min_distance_nm", c->initial_min_distance_nm,
                "[nm] r_c: no pair closer at t = 0");
        fprintf(f, "%*sshell_sampling: %s  # exposure %s\n", i1, "",
                c->shell_sampling == 1 ? "bridge" : "end",
                c->shell_sampling == 1 ? "along the Brownian bridge between step ends"
                                       : "h(r) dt at each step's end");
        put_num(f, i1, "step_resolution", c->step_resolution,
                "automatic dt: sqrt(2 D_max dt) <= shell_width_nm / step_resolution");
        put_uint(f, i1, "split_steps", c->split_steps,
                 "monomer SSA and dynamics alternate every this many steps (r < 3: x (r/3)^2)");
    } else {
        fprintf(f, "%*skernel: %s  # pair (i, j) merges at rate K_ij P_ij / V\n", i1, "",
                kernels[c->kernel]);
    }
    if (c->kernel == NPG_KERNEL_CONSTANT) {
        put_num(f, i1, "k_const_nm3_per_s", c->k_const_nm3_per_s, "[nm^3/s] K");
    } else if (c->kernel == NPG_KERNEL_ADDITIVE) {
        put_num(f, i1, "k_add_nm3_per_s", c->k_add_nm3_per_s, "[nm^3/s] K = k_add (n_i + n_j)");
    } else {
        if (c->intrinsic_rate_nm3_per_s > 0.0 && c->mode != NPG_COAL_BROWNIAN)
            put_num(f, i1, "intrinsic_rate_nm3_per_s", c->intrinsic_rate_nm3_per_s,
                    "[nm^3/s] reaction-limited k_a");
        fprintf(f, "%*sdiffusion:  # D_i = D_ref r_ref / (R_i + l)\n", i1, "");
        put_num(f, i2, "d_ref_nm2_per_s", c->d_ref_nm2_per_s, "[nm^2/s] D_ref");
        put_num(f, i2, "r_ref_nm", c->r_ref_nm, "[nm] r_ref");
        if (c->tf_c != 0.0 || c->tf_b_per_time != 0.0) {
            fprintf(f, "%*stime_factor:  # D times (1 + b t)^-c\n", i1, "");
            char u[40];
            snprintf(u, sizeof u, "[%s^-1] b", cfg->time_unit[0] ? cfg->time_unit : "s");
            put_num(f, i2, "b_per_time", c->tf_b_per_time, u);
            put_num(f, i2, "c", c->tf_c, "[-] c");
        }
    }
    put_num(f, i1, "ligand_nm", c->ligand_nm, "[nm] ligand shell l");
    if (c->propensity == NPG_PROPENSITY_FERMI) {
        fprintf(f, "%*spropensity:  # P = 1/(exp(gamma (R_i + R_j - sigma_c)) + 1)\n", i1, "");
        fprintf(f, "%*skind: fermi\n", i2, "");
        put_num(f, i2, "gamma_per_nm", c->gamma_per_nm, "[1/nm] gamma");
        put_num(f, i2, "sigma_c_nm", c->sigma_c_nm, "[nm] sigma_c");
    }
    put_num(f, i1, "epsilon", c->epsilon, "[-] max expected merges per particle per interval");
}

/* pair: (only when present). */
static void write_pair(FILE *f, const npg_config *cfg, int i0)
{
    const npg_pair_config *p = &cfg->pair;
    int i1 = i0 + 2, i2 = i0 + 4;
    const char *tu = cfg->time_unit[0] ? cfg->time_unit : "s";
    char c[120];
    if (!p->present)
        return;
    fprintf(f, "%*spair:  # the pair-correlation equation (npgrow pair)\n", i0, "");
    fprintf(f, "%*ssigma:\n", i1, "");
    if (p->sigma == NPG_PAIR_SIGMA_FROZEN) {
        fprintf(f, "%*skind: frozen\n", i2, "");
        put_num(f, i2, "nm", p->sigma_nm, "[nm] contact distance");
    } else {
        fprintf(f, "%*skind: polynomial\n%*scoefficients: [", i2, "", i2, "");
        for (uint32_t k = 0; k < p->n_coeffs; ++k) {
            char b[40];
            fmt_double(b, sizeof b, p->coeffs[k]);
            fprintf(f, "%s%s", k ? ", " : "", b);
        }
        fprintf(f, "]  # [nm / %s^k] sigma = sum_k c_k (t + t_offset)^k\n", tu);
    }
    snprintf(c, sizeof c, "[%s] movie time of run time 0", tu);
    put_num(f, i2, "t_offset", p->t_offset, c);
    fprintf(f, "%*sd_r:\n", i1, "");
    if (p->d_r == NPG_PAIR_DR_POWER) {
        fprintf(f, "%*skind: power  # D_r = a / (1 + b (t + t_offset))^c\n", i2, "");
        put_num(f, i2, "a", p->dr_a_nm2_per_s, "[nm^2/s]");
        snprintf(c, sizeof c, "[1/%s]", tu);
        put_num(f, i2, "b", p->dr_b_per_time, c);
        put_num(f, i2, "c", p->dr_c, "[-]");
    } else {
        fprintf(f, "%*skind: from_diffusion  # D_i + D_j of two particles of radius sigma/2\n", i2,
                "");
    }
    put_num(f, i1, "rmax_nm", p->rmax_nm, "[nm] domain x = r - sigma in [0, rmax]");
    put_uint(f, i1, "cells", p->cells, "finite volumes");
    fprintf(f, "%*squadrature: %s  # k_f's shell centre: %s\n", i1, "",
            p->quadrature == NPG_PAIR_QUAD_SHIFTED ? "shifted" : "consistent",
            p->quadrature == NPG_PAIR_QUAD_SHIFTED ? "sigma(sigma(t)) + l (the original code)"
                                                   : "sigma(t) + l");
    fprintf(f, "%*skinetics: %s  # dA/dt = P0 - %sk_f A^2\n", i1, "",
            p->kinetics == NPG_PAIR_KINETICS_BOX ? "box" : "study",
            p->kinetics == NPG_PAIR_KINETICS_BOX ? "(N(0)/V)/2 " : "");
    fprintf(f, "%*sinitial:\n", i1, "");
    if (p->ic_r_max_nm > 0.0)
        put_num(f, i2, "r_max_nm", p->ic_r_max_nm, "[nm] no pairs beyond at t = 0");
    fprintf(f, "%*ssigma_at: %s  # contact distance of the start: %s\n", i2, "",
            p->ic_sigma == NPG_PAIR_IC_SIGMA_ZERO ? "zero" : "start",
            p->ic_sigma == NPG_PAIR_IC_SIGMA_ZERO ? "sigma at movie time 0 (the original code)"
                                                  : "sigma(0)");
    snprintf(c, sizeof c, "[1/%s] source of dA/dt", tu);
    put_num(f, i1, "p0_per_time", p->p0_per_time, c);
    if (isfinite(p->t_cut)) {
        snprintf(c, sizeof c, "[%s] the source acts while t < t_cut", tu);
        put_num(f, i1, "t_cut", p->t_cut, c);
    }
}

/* source: (only when there is one). */
static void write_source(FILE *f, const npg_config *cfg, int i0)
{
    const npg_source_config *s = &cfg->src;
    int i1 = i0 + 2;
    const char *tu = cfg->time_unit[0] ? cfg->time_unit : "s";
    char c[80];
    if (s->kind == NPG_SOURCE_NONE)
        return;
    fprintf(f, "%*ssource:\n", i0, "");
    if (s->kind == NPG_SOURCE_FILE) {
        fprintf(f, "%*sentries_file: ", i1, "");
        put_quoted(f, s->entries_file);
        fprintf(f, "  # CSV t,n (%zu rows)\n", s->entries_len);
        return;
    }
    snprintf(c, sizeof c, "[%s^-1] mean entries per time unit", tu);
    put_num(f, i1, "rate_per_time", s->rate_per_time, c);
    snprintf(c, sizeof c, "[%s]", tu);
    put_num(f, i1, "t_start", s->t_start, c);
    put_num(f, i1, "t_stop", s->t_stop, c);
    fprintf(f, "%*ssize:  # of the entering particles\n", i1, "");
    size_law_c law = source_law_c(cfg);
    write_size(f, i1 + 2, &law);
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
    if (cfg->no_monomer_exchange) /* only when off: run.yaml of other configs stays as it was */
        fprintf(f, "%*smonomer_exchange: false  # no association or dissociation\n", i1, "");

    fprintf(f, "%*sinitial:\n", i0, "");
    size_law_c law = initial_law_c(cfg);
    write_size(f, i1, &law);

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
    if (cfg->coal.mode != NPG_COAL_NONE || cfg->coal.output_events != 100000)
        put_uint(f, i1, "coalescence_events", cfg->coal.output_events,
                 "merges sampled into coalescence.csv");
    write_coalescence(f, cfg, i0);
    write_source(f, cfg, i0);
    fprintf(f, "%*sme:\n", i0, "");
    put_uint(f, i1, "n_max", cfg->me_n_max, "master-equation truncation; 0 = automatic");
    put_uint(f, i1, "resolution", cfg->me_resolution,
             "master-equation grid: sizes n >= 2R in cells of width floor(n/R); 0 = exact");
    write_pair(f, cfg, i0);
}

double npg_config_seconds_per_unit(const npg_config *cfg)
{
    return strcmp(cfg->time_unit, "min") == 0 ? 60.0 : 1.0;
}
