/* yaml_limits.h: limits on YAML files npgrow reads (configs, run.yaml), checked on the event
 * stream before libyaml builds a document; and the one mapping look-up the readers share.
 *
 * Why: libyaml 0.2.5 (Debian 12) takes time quadratic in the nesting depth to load a document
 * (100000 nested brackets, 200 kB: 37 s), and aliases can expand a small file into a huge one.
 * A config or a run.yaml is a page of keys: 16 levels, 200000 events and no aliases are plenty.
 * Syntax errors are left to the loader, which reports them with their marks.
 */
#ifndef NPGROW_UTIL_YAML_LIMITS_H
#define NPGROW_UTIL_YAML_LIMITS_H

#include <stdio.h>

#include <yaml.h>

#define NPG_YAML_MAX_BYTES  (1u << 20)
#define NPG_YAML_MAX_DEPTH  16
#define NPG_YAML_MAX_EVENTS 200000

/* Scan f (rewound afterwards). Returns 0 when within the limits (or on a syntax error), else 1
 * with *where at the offending event and *what a short reason. */
int npg_yaml_prescan(FILE *f, yaml_mark_t *where, const char **what);

/* A mapping's value for key (NULL when m is NULL, not a mapping, or has no such key). */
yaml_node_t *npg_yaml_map_get(yaml_document_t *d, yaml_node_t *m, const char *key);

#endif /* NPGROW_UTIL_YAML_LIMITS_H */
