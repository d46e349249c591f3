/*
 * assets.c - the dashboard's embedded files (assets.h).  (placeholder: none yet)
 */
#include "assets.h"

int nc_asset_get(const char *path, const void **data, size_t *len, const char **type)
{
	(void)path;
	(void)data;
	(void)len;
	(void)type;
	return -1;
}
