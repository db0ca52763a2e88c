/* yaml_limits.c: see yaml_limits.h. */
#include <string.h>

#include "util/yaml_limits.h"

int npg_yaml_prescan(FILE *f, yaml_mark_t *where, const char **what)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return 0;
    yaml_parser_set_input_file(&p, f);
    int depth = 0, rc = 0;
    long events = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev))
            break;
        yaml_event_type_t t = ev.type;
        *where = ev.start_mark;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
        if (++events > NPG_YAML_MAX_EVENTS) {
            *what = "too many nodes: at most 200000 YAML events";
            rc = 1;
        } else if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > NPG_YAML_MAX_DEPTH) {
                *what = "nested too deeply: at most 16 levels of nested mappings and sequences";
                rc = 1;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            --depth;
        } else if (t == YAML_ALIAS_EVENT) {
            *what = "an alias (*name): write the value out";
            rc = 1;
        }
        if (rc)
            break;
    }
    yaml_parser_delete(&p);
    rewind(f);
    return rc;
}

yaml_node_t *npg_yaml_map_get(yaml_document_t *d, yaml_node_t *m, const char *key)
{
    if (!m || m->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; ++p) {
        yaml_node_t *k = yaml_document_get_node(d, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return yaml_document_get_node(d, p->value);
    }
    return NULL;
}
