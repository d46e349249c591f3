/*
 * assets.c - the dashboard's embedded files (assets.h): the URL of each,
 * its Content-Type.  The bytes are in the generated nc-assets-data.c.
 */
#include "assets.h"

#include <string.h>

static const struct {
	const char *ext;
	const char *type;
} types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
};

const char *nc_asset_type(const char *name)
{
	const char *dot = strrchr(name, '.');
	size_t i;

	if (dot)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

int nc_asset_get(const char *path, const void **data, size_t *len, const char **type)
{
	const char *name;
	size_t i;

	if (!path)
		return -1;
	if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		name = "index.html";
	else if (strncmp(path, "/ui/", 4) == 0 && strcmp(path + 4, "index.html") != 0)
		name = path + 4;
	else
		return -1;
	/* by exact name only: nothing outside the table can be reached */
	for (i = 0; nc_asset_files[i].name; i++)
		if (strcmp(nc_asset_files[i].name, name) == 0) {
			*data = nc_asset_files[i].data;
			*len = nc_asset_files[i].len;
			*type = nc_asset_type(name);
			return 0;
		}
	return -1;
}
