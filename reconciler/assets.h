/*
 * assets.h - the dashboard's files (web/ui/), embedded in the binary at
 * build time: no CDN, works offline.
 */
#ifndef NC_ASSETS_H
#define NC_ASSETS_H

#include <stddef.h>

/* the file at path ("/" is index.html); 0, or -1 when there is none */
int nc_asset_get(const char *path, const void **data, size_t *len, const char **type);

#endif
