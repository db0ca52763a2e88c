/* config.c: placeholder until the YAML loader lands. */
#include <string.h>

#include "npgrow/config.h"

int npg_config_load(const char *path, npg_config *cfg, char *err, size_t errlen)
{
    (void)path;
    memset(cfg, 0, sizeof *cfg);
    strncpy(err, "config loader not implemented yet", errlen - 1);
    return NPG_EXIT_USAGE;
}
void npg_config_free(npg_config *cfg) { (void)cfg; }
