/*
 * seed.c - cloud-init NoCloud seeds as ISO 9660 images (seed.h), with
 * libisofs: the files are memory streams, the image is read from libisofs'
 * burn_source into one buffer (a seed is a few KiB: 3 files and the
 * volume descriptors: 72 KiB with the padding libisofs adds).
 */
#define LIBISOFS_WITHOUT_LIBBURN 1
#include "seed.h"

#include <stdint.h>
#include <sys/types.h>
#include <libisofs/libisofs.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"

/* 2000-01-01 00:00:00 UTC: every timestamp in a seed */
#define SEED_TIME ((time_t)946684800)

static void hash_part(EVP_MD_CTX *c, const char *name, const char *s)
{
	char len[32];

	/* name, length, bytes: no two inputs give the same stream */
	EVP_DigestUpdate(c, name, strlen(name));
	snprintf(len, sizeof(len), " %zu\n", s ? strlen(s) : (size_t)0);
	EVP_DigestUpdate(c, len, strlen(len));
	if (s)
		EVP_DigestUpdate(c, s, strlen(s));
	else
		EVP_DigestUpdate(c, "-", 1);
}

char *nc_seed_meta_data(char iid[40], const char *hostname, const char *user_data,
	const char *network_config)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct nc_buf b = NC_BUF_INIT;
	size_t i;

	if (!c)
		abort();
	EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	hash_part(c, "local-hostname", hostname);
	hash_part(c, "user-data", user_data ? user_data : "");
	hash_part(c, "network-config", network_config);
	EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	memcpy(iid, "nc-", 3);
	for (i = 0; i < 16; i++)
		snprintf(iid + 3 + 2 * i, 3, "%02x", md[i]);
	iid[35] = '\0';

	nc_buf_addf(&b, "instance-id: %s\nlocal-hostname: ", iid);
	nc_buf_add_json_str(&b, hostname);   /* a YAML double-quoted scalar */
	nc_buf_addc(&b, '\n');
	return nc_buf_detach(&b, NULL);
}

char *nc_seed_network_config(const struct nc_nic_def *nics, size_t nnics)
{
	struct nc_buf b = NC_BUF_INIT;
	size_t i;

	nc_buf_adds(&b, "version: 2\n");
	if (!nnics) {
		nc_buf_adds(&b, "ethernets: {}\n");
		return nc_buf_detach(&b, NULL);
	}
	nc_buf_adds(&b, "ethernets:\n");
	for (i = 0; i < nnics; i++) {
		nc_buf_adds(&b, "  ");
		nc_buf_add_json_str(&b, nics[i].name);
		nc_buf_adds(&b, ":\n    match:\n      macaddress: ");
		nc_buf_add_json_str(&b, nics[i].mac);
		nc_buf_adds(&b, "\n    dhcp4: true\n");
	}
	return nc_buf_detach(&b, NULL);
}

/* ---- the image ---- */

static pthread_once_t iso_once = PTHREAD_ONCE_INIT;
static int iso_ready;

static void iso_setup(void)
{
	/* bit0: no locale from the environment (names are ASCII anyway) */
	iso_ready = iso_init_with_flag(1) >= 0;
	if (iso_ready)   /* keep no message queue, print nothing: errors come back as codes */
		iso_set_msgs_severities("NEVER", "NEVER", "novacron");
}

static void fix_node(IsoNode *n, mode_t mode)
{
	iso_node_set_permissions(n, mode);
	iso_node_set_uid(n, 0);
	iso_node_set_gid(n, 0);
	iso_node_set_atime(n, SEED_TIME);
	iso_node_set_mtime(n, SEED_TIME);
	iso_node_set_ctime(n, SEED_TIME);
}

static int add_file(IsoImage *image, IsoDir *root, const char *name, const char *text)
{
	size_t n = text ? strlen(text) : 0;
	unsigned char *copy = nc_xmalloc(n ? n : 1);
	IsoStream *stream = NULL;
	IsoFile *file = NULL;
	int rc;

	memcpy(copy, text ? text : "", n);
	rc = iso_memory_stream_new(copy, n, &stream);   /* owns copy from here */
	if (rc < 0) {
		free(copy);
		return rc;
	}
	rc = iso_image_add_new_file(image, root, name, stream, &file);
	if (rc < 0) {
		iso_stream_unref(stream);
		return rc;
	}
	fix_node((IsoNode *)file, 0444);
	return 0;
}

static void iso_error(struct nc_err *err, const char *what, int rc)
{
	nc_err_set(err, "cloud-init seed: %s: %s", what, iso_error_to_msg(rc));
}

int nc_seed_iso(unsigned char **out, size_t *len, const char *user_data, const char *meta_data,
	const char *network_config, struct nc_err *err)
{
	IsoImage *image = NULL;
	IsoWriteOpts *opts = NULL;
	struct burn_source *src = NULL;
	struct nc_buf b = NC_BUF_INIT;
	unsigned char sector[2048];
	char uuid[] = "2000010100000000";   /* YYYYMMDDhhmmsscc: the volume times */
	int rc, ret = -1;

	pthread_once(&iso_once, iso_setup);
	if (!iso_ready) {
		nc_err_set(err, "cloud-init seed: libisofs cannot be initialised");
		return -1;
	}
	rc = iso_image_new(NC_SEED_LABEL, &image);
	if (rc < 0) {
		iso_error(err, "new image", rc);
		return -1;
	}
	iso_image_set_volume_id(image, NC_SEED_LABEL);
	iso_image_set_application_id(image, "");
	iso_image_set_data_preparer_id(image, "");
	iso_image_set_system_id(image, "");
	fix_node((IsoNode *)iso_image_get_root(image), 0555);
	if ((rc = add_file(image, iso_image_get_root(image), "user-data", user_data)) < 0 ||
	    (rc = add_file(image, iso_image_get_root(image), "meta-data", meta_data)) < 0 ||
	    (network_config &&
	     (rc = add_file(image, iso_image_get_root(image), "network-config", network_config)) < 0)) {
		iso_error(err, "adding a file", rc);
		goto out;
	}
	if ((rc = iso_write_opts_new(&opts, 0)) < 0) {
		iso_error(err, "write options", rc);
		goto out;
	}
	iso_write_opts_set_rockridge(opts, 1);
	iso_write_opts_set_joliet(opts, 1);
	iso_write_opts_set_always_gmt(opts, 1);
	/* the volume id stays lower-case "cidata", as genisoimage -V writes it */
	iso_write_opts_set_relaxed_vol_atts(opts, 1);
	iso_write_opts_set_replace_timestamps(opts, 2);
	iso_write_opts_set_default_timestamp(opts, SEED_TIME);
	iso_write_opts_set_pvd_times(opts, SEED_TIME, SEED_TIME, 0, 0, uuid);
	rc = iso_image_create_burn_source(image, opts, &src);
	if (rc < 0) {
		iso_error(err, "writing the image", rc);
		goto out;
	}
	for (;;) {
		int n = src->read_xt ? src->read_xt(src, sector, sizeof(sector))
				     : src->read(src, sector, sizeof(sector));

		if (n < 0) {
			nc_err_set(err, "cloud-init seed: libisofs failed while writing the image");
			goto out;
		}
		if (n == 0)
			break;
		nc_buf_add(&b, sector, (size_t)n);
	}
	*out = (unsigned char *)nc_buf_detach(&b, len);
	ret = 0;
out:
	if (src) {
		src->free_data(src);
		free(src);
	}
	nc_buf_release(&b);
	if (opts)
		iso_write_opts_free(opts);
	if (image)
		iso_image_unref(image);
	return ret;
}
