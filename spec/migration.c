/*
 * migration.c - validate's checks of spec.migration (VM and PlacementPolicy),
 * docs/migration.md "WAN tuning"; declared in internal.h.
 */
#include "internal.h"

/* libvirt 9.0 (Debian 12) takes VIR_MIGRATE_PARAM_COMPRESSION "xbzrle" and "mt" only */
#define MULTIFD_WHY "multifd compression needs libvirt 9.4 or later on the hosts; " \
	"with an older libvirt (Debian 12 has 9.0) the migration is refused before it starts: use xbzrle or none"

void nc_validate_migration(struct nc_diags *diags, const struct nc_migration *m)
{
	if (!NC_IS_SET(*m))
		return;
	if (NC_IS_SET(m->post_copy) && !NC_IS_SET(m->post_copy.after) &&
	    !m->post_copy.not_converging.v)
		nc_diag_error(diags, m->post_copy.pos,
			      "'postCopy' needs 'after' (a duration), 'notConverging: true', or both: "
			      "otherwise nothing switches the migration to post-copy");
	if (NC_IS_SET(m->compression) &&
	    (m->compression.v == NC_MIG_COMP_ZSTD || m->compression.v == NC_MIG_COMP_ZLIB))
		nc_diag_warning(diags, m->compression.pos, "compression %s: %s",
				m->compression.v == NC_MIG_COMP_ZSTD ? "zstd" : "zlib", MULTIFD_WHY);
	if (NC_IS_SET(m->post_copy) && NC_IS_SET(m->timeout) && NC_IS_SET(m->post_copy.after) &&
	    m->post_copy.after.ms >= m->timeout.ms)
		nc_diag_warning(diags, m->post_copy.after.pos,
				"postCopy.after (%llu ms) is not before the timeout (%llu ms): the migration is "
				"aborted before it would switch to post-copy",
				(unsigned long long)m->post_copy.after.ms, (unsigned long long)m->timeout.ms);
}
