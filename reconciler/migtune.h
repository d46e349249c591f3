/*
 * migtune.h - a VM's effective migration tuning (docs/migration.md "WAN tuning").
 *
 *   nc_migtune_resolve()   the VM's own spec.migration values over those of its
 *                          PlacementPolicy (the policy placement uses for it),
 *                          field by field, with NovaCron's defaults for the rest
 *                          (timeout 10m); what apply passes to the host driver.
 *   nc_migtune_set()       whether anything was written in either spec: plans show
 *                          a "tuning:" line only then (JSON always has the object).
 *   nc_migtune_describe()  one deterministic line, "copyStorage full, compression
 *                          xbzrle, 4 connections, post-copy after 30s, tls, ...".
 *   nc_migtune_json()      the same as a JSON object (docs/json.md actions[].migration).
 *   nc_migtune_tls_host()  the host name of a Host's spec URI (migrationUri, else uri), which
 *                          a TLS migration's destination certificate must carry; NULL if none.
 *   nc_mig_storage_name(), nc_mig_compress_name()  enum -> spec word.
 */
#ifndef NC_MIGTUNE_H
#define NC_MIGTUNE_H

#include <stdbool.h>

#include "../drivers/driver.h"
#include "../spec/model.h"
#include "../spec/util.h"

struct json_object;

#define NC_MIGTUNE_DEFAULT_TIMEOUT_MS 600000u

void nc_migtune_resolve(struct nc_migrate_tuning *out, const struct nc_spec *spec, const struct nc_vm *vm);
bool nc_migtune_set(const struct nc_spec *spec, const struct nc_vm *vm);
void nc_migtune_describe(const struct nc_migrate_tuning *t, struct nc_buf *out);
struct json_object *nc_migtune_json(const struct nc_migrate_tuning *t);
char *nc_migtune_tls_host(const struct nc_host *h);
const char *nc_mig_storage_name(enum nc_mig_storage s);
const char *nc_mig_compress_name(enum nc_mig_compress c);

#endif
