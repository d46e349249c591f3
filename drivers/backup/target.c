/*
 * backup/target.c - opening the backup target a location names.
 *
 * One table lists the target drivers by type; nc_backup_target_open()
 * checks that the location has the fields its type needs (so the error
 * names the missing field rather than a driver failing later) and hands it
 * to the driver's open().  Fields of other types are ignored, as the spec
 * validator already reports them.
 */
#include "backup.h"

#include <string.h>

static const struct nc_backup_target_driver *const target_drivers[] = {
	&nc_backup_target_dir,
	&nc_backup_target_rados,
	&nc_backup_target_s3,
	&nc_backup_target_swift,
};

static bool set(const char *s)
{
	return s && *s;
}

int nc_backup_target_open(struct nc_backup_target **out, const struct nc_backup_location *loc,
	bool create, struct nc_err *err)
{
	const struct nc_backup_target_driver *drv = NULL;
	size_t i;

	if (!loc || !set(loc->type)) {
		nc_err_set(err, "backup target: no type (dir, rados, s3 or swift)");
		return -1;
	}
	for (i = 0; i < sizeof(target_drivers) / sizeof(target_drivers[0]); i++)
		if (strcmp(target_drivers[i]->name, loc->type) == 0)
			drv = target_drivers[i];
	if (!drv) {
		nc_err_set(err, "unknown backup target type '%s' (dir, rados, s3 or swift)", loc->type);
		return -1;
	}
	if (strcmp(loc->type, "dir") == 0 && !set(loc->path)) {
		nc_err_set(err, "dir target needs path");
		return -1;
	}
	if (strcmp(loc->type, "rados") == 0 && !set(loc->pool)) {
		nc_err_set(err, "rados target needs pool");
		return -1;
	}
	if (strcmp(loc->type, "s3") == 0 || strcmp(loc->type, "swift") == 0) {
		if (!set(loc->endpoint) || !set(loc->bucket)) {
			nc_err_set(err, "%s target needs endpoint and %s", loc->type,
				strcmp(loc->type, "s3") == 0 ? "bucket" : "bucket (the container)");
			return -1;
		}
		if (!set(loc->credentials_file)) {
			nc_err_set(err, "%s target needs credentialsFile", loc->type);
			return -1;
		}
	}
	return drv->open(out, loc, create, err);
}
