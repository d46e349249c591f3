/*
 * assets.h - the dashboard's files (web/ui/), embedded in the binary at
 * build time: no CDN, works offline.
 *
 * cmake/embed.cmake writes every file of web/ui/ into a generated C file
 * (BUILD/nc-assets-data.c) as nc_asset_files[], again whenever one changes.
 * The dashboard's URLs are "/" and "/index.html" (index.html) and
 * "/ui/NAME" for every other file NAME of web/ui/.  A path is looked up by
 * exact name in that table: anything else ("/ui/../x", "%2e%2e", "//",
 * backslashes, subfolders) is not a file.
 */
#ifndef NC_ASSETS_H
#define NC_ASSETS_H

#include <stddef.h>

/* the file at path ("/" is index.html); 0, or -1 when there is none */
int nc_asset_get(const char *path, const void **data, size_t *len, const char **type);

/* the embedded files, in name order, ending with { NULL, NULL, 0 } (generated) */
struct nc_asset_file {
	const char *name;                /* its name in web/ui/ */
	const unsigned char *data;       /* its bytes (followed by a NUL not counted in len) */
	size_t len;
};
extern const struct nc_asset_file nc_asset_files[];

/* the Content-Type of a file name by its extension ("application/octet-stream" when unknown) */
const char *nc_asset_type(const char *name);

#endif
