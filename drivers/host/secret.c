/*
 * secret.c - libvirt secrets of usage type ceph on a host: the cephx keys
 * that QEMU gives librbd for RBD disks with <auth> (driver.h secret_define).
 *
 * A real libvirt host keeps them in its secret driver: defined private (the
 * API never returns the value) and persistent, value set with
 * virSecretSetValue.  Observing lists them (uuid, usage name, description)
 * and never reads a value.  A secret defined with the same uuid replaces the
 * old definition; one with the same usage name and another uuid is
 * undefined first (the usage name is NovaCron's own, derived from the pool).
 *
 * libvirt's test driver has no secret driver, so a simulated host (sim://)
 * keeps its secrets in STATE_DIR/NAME.secrets, an XML list of
 * <secret uuid= usage= description=/> written atomically, mode 0600,
 * without the value: what a plan needs (does the secret exist, with this
 * description) survives between processes, the key stays out of the state
 * directory.  Any other libvirt URI without a secret driver (test:///...)
 * is observed as holding none, and defining one there fails with libvirt's
 * message; so does a host whose secrets cannot be listed (the domains are
 * still observed: the host is not taken for unreachable).
 */
#include "../driver.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"
#include "../storage/storage.h"

const char *nc_libvirt_state_file(struct nc_host_conn *host);   /* libvirt.c */

static int secret_cmp(const void *a, const void *b)
{
	return strcmp(((const struct nc_host_secret *)a)->uuid, ((const struct nc_host_secret *)b)->uuid);
}

static char *sim_secrets_path(struct nc_host_conn *host)
{
	const char *state = nc_libvirt_state_file(host);
	size_t n = state ? strlen(state) : 0;

	if (n < 4)
		return NULL;
	return nc_xasprintf("%.*s.secrets", (int)(n - 4), state);   /* NAME.xml -> NAME.secrets */
}

static char *prop_dup(xmlNodePtr n, const char *name)
{
	xmlChar *c = xmlGetProp(n, BAD_CAST name);
	char *s = c ? nc_xstrdup((const char *)c) : NULL;

	xmlFree(c);
	return s;
}

static int sim_load(struct nc_host_conn *host, struct nc_host_secret **out, size_t *n, struct nc_err *err)
{
	char *path = sim_secrets_path(host), *text = NULL;
	struct nc_host_secret *v = NULL;
	size_t len = 0, cnt = 0;
	xmlDocPtr doc;
	xmlNodePtr k;

	*out = NULL;
	*n = 0;
	if (!path)
		return 0;
	if (nc_read_file(path, 16 << 20, &text, &len) < 0) {
		int e = errno;

		free(path);
		if (e == ENOENT)
			return 0;
		nc_err_set(err, "cannot read simulated secrets: %s", strerror(e));
		return -1;
	}
	doc = xmlReadMemory(text, (int)len, "secrets.xml", NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	free(text);
	if (!doc) {
		nc_err_set(err, "%s is not a secrets list", path);
		free(path);
		return -1;
	}
	free(path);
	for (k = xmlDocGetRootElement(doc)->children; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE || strcmp((const char *)k->name, "secret") != 0)
			continue;
		v = nc_xreallocarray(v, cnt + 1, sizeof(*v));
		v[cnt].uuid = prop_dup(k, "uuid");
		v[cnt].usage = prop_dup(k, "usage");
		v[cnt].description = prop_dup(k, "description");
		if (!v[cnt].uuid)
			v[cnt].uuid = nc_xstrdup("");
		cnt++;
	}
	xmlFreeDoc(doc);
	*out = v;
	*n = cnt;
	return 0;
}

static void secrets_free(struct nc_host_secret *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].uuid);
		free(v[i].usage);
		free(v[i].description);
	}
	free(v);
}

static int sim_define(struct nc_host_conn *host, const struct nc_secret_def *def, struct nc_err *err)
{
	struct nc_host_secret *v = NULL;
	size_t n = 0, i;
	xmlDocPtr doc;
	xmlNodePtr root, k;
	xmlChar *mem = NULL;
	int len = 0, ret = -1;
	char *path;

	if (sim_load(host, &v, &n, err) < 0)
		return -1;
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = xmlNewNode(NULL, BAD_CAST "secrets");
	xmlDocSetRootElement(doc, root);
	for (i = 0; i < n; i++) {
		/* the same uuid or the same usage name: replaced */
		if (strcmp(v[i].uuid, def->uuid) == 0 || (v[i].usage && strcmp(v[i].usage, def->usage) == 0))
			continue;
		k = xmlNewChild(root, NULL, BAD_CAST "secret", NULL);
		xmlNewProp(k, BAD_CAST "uuid", BAD_CAST v[i].uuid);
		if (v[i].usage)
			xmlNewProp(k, BAD_CAST "usage", BAD_CAST v[i].usage);
		if (v[i].description)
			xmlNewProp(k, BAD_CAST "description", BAD_CAST v[i].description);
	}
	k = xmlNewChild(root, NULL, BAD_CAST "secret", NULL);
	xmlNewProp(k, BAD_CAST "uuid", BAD_CAST def->uuid);
	xmlNewProp(k, BAD_CAST "usage", BAD_CAST def->usage);
	xmlNewProp(k, BAD_CAST "description", BAD_CAST def->description);
	xmlDocDumpFormatMemory(doc, &mem, &len, 1);
	path = sim_secrets_path(host);
	if (!path)
		nc_err_set(err, "simulated host without a state file");
	else if (nc_write_file_atomic(path, mem, (size_t)len, 0600) < 0)
		nc_err_set(err, "cannot write simulated secrets: %s", strerror(errno));
	else
		ret = 0;
	free(path);
	xmlFree(mem);
	xmlFreeDoc(doc);
	secrets_free(v, n);
	return ret;
}

/* usage name and description of a secret, from its XML */
static void secret_fields(virSecretPtr s, struct nc_host_secret *o)
{
	char *xml = virSecretGetXMLDesc(s, 0);
	xmlDocPtr doc = xml ? xmlReadMemory(xml, (int)strlen(xml), "secret.xml", NULL,
					    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING) : NULL;
	xmlNodePtr k, u;

	free(xml);
	if (!doc)
		return;
	for (k = xmlDocGetRootElement(doc)->children; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (strcmp((const char *)k->name, "description") == 0 && !o->description) {
			xmlChar *c = xmlNodeGetContent(k);

			o->description = nc_xstrdup(c ? (const char *)c : "");
			xmlFree(c);
		}
		if (strcmp((const char *)k->name, "usage") == 0)
			for (u = k->children; u; u = u->next)
				if (u->type == XML_ELEMENT_NODE && strcmp((const char *)u->name, "name") == 0 &&
				    !o->usage) {
					xmlChar *c = xmlNodeGetContent(u);

					o->usage = nc_xstrdup(c ? (const char *)c : "");
					xmlFree(c);
				}
	}
	xmlFreeDoc(doc);
}

int nc_host_secrets_list(struct nc_host_conn *host, struct nc_host_secret **out, size_t *nout,
			 bool *unsupported, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	virSecretPtr *list = NULL;
	struct nc_host_secret *v;
	size_t cnt = 0;
	int n, i;

	*out = NULL;
	*nout = 0;
	*unsupported = false;
	if (nc_libvirt_is_sim(host)) {
		if (sim_load(host, out, nout, err) < 0)
			return -1;
		goto sort;
	}
	if (!conn)
		return 0;
	n = virConnectListAllSecrets(conn, &list, VIR_CONNECT_LIST_SECRETS_PRIVATE);
	if (n < 0) {
		/* no secret driver, or no right to list: the host is still read; a
		 * plan that needs a secret there plans it, and apply says why it fails */
		*unsupported = true;
		return 0;
	}
	v = nc_xcalloc((size_t)n + 1, sizeof(*v));
	for (i = 0; i < n; i++) {
		char uuid[VIR_UUID_STRING_BUFLEN];

		if (virSecretGetUsageType(list[i]) == VIR_SECRET_USAGE_TYPE_CEPH &&
		    virSecretGetUUIDString(list[i], uuid) == 0) {
			v[cnt].uuid = nc_xstrdup(uuid);
			secret_fields(list[i], &v[cnt]);
			cnt++;
		}
		virSecretFree(list[i]);
	}
	free(list);
	*out = v;
	*nout = cnt;
sort:
	if (*nout > 1)
		qsort(*out, *nout, sizeof(**out), secret_cmp);
	return 0;
}

int nc_host_secret_define(struct nc_host_conn *host, const struct nc_secret_def *def, struct nc_err *err)
{
	virConnectPtr conn = nc_libvirt_conn(host);
	virSecretPtr s;
	xmlDocPtr doc;
	xmlNodePtr root, u;
	xmlChar *mem = NULL;
	char *pending;
	int len = 0, r, pass;

	if (nc_driver_fault("secret define", err) < 0)
		return -1;
	if (nc_libvirt_is_sim(host))
		return sim_define(host, def, err);
	if (!conn) {
		nc_err_set(err, "this host has no libvirt secrets");
		return -1;
	}
	/* our usage name held by another uuid (defined by hand?): that one goes */
	s = virSecretLookupByUsage(conn, VIR_SECRET_USAGE_TYPE_CEPH, def->usage);
	if (s) {
		char uuid[VIR_UUID_STRING_BUFLEN];

		if (virSecretGetUUIDString(s, uuid) == 0 && strcmp(uuid, def->uuid) != 0 && virSecretUndefine(s) < 0) {
			nc_err_set(err, "cannot replace secret %s: %s", def->usage, virGetLastErrorMessage());
			virSecretFree(s);
			return -1;
		}
		virSecretFree(s);
	}
	/*
	 * The description carries the key's fingerprint, which is what plans
	 * compare: it is written only once the value is set.  Defined first
	 * with the fingerprint pending, a secret cut short here (a kill
	 * between the two calls) never looks right, with no value or with the
	 * old key, and the next plan updates it again.
	 */
	pending = nc_xasprintf("%s (value being set)", def->description);
	for (pass = 0; pass < 2; pass++) {
		doc = xmlNewDoc(BAD_CAST "1.0");
		root = xmlNewNode(NULL, BAD_CAST "secret");
		xmlDocSetRootElement(doc, root);
		xmlNewProp(root, BAD_CAST "ephemeral", BAD_CAST "no");
		xmlNewProp(root, BAD_CAST "private", BAD_CAST "yes");
		xmlNewTextChild(root, NULL, BAD_CAST "uuid", BAD_CAST def->uuid);
		xmlNewTextChild(root, NULL, BAD_CAST "description", BAD_CAST(pass ? def->description : pending));
		u = xmlNewChild(root, NULL, BAD_CAST "usage", NULL);
		xmlNewProp(u, BAD_CAST "type", BAD_CAST "ceph");
		xmlNewTextChild(u, NULL, BAD_CAST "name", BAD_CAST def->usage);
		xmlDocDumpFormatMemory(doc, &mem, &len, 1);
		xmlFreeDoc(doc);
		s = virSecretDefineXML(conn, (const char *)mem, 0);
		xmlFree(mem);
		if (!s) {
			nc_err_set(err, "cannot define secret %s: %s", def->usage, virGetLastErrorMessage());
			free(pending);
			return -1;
		}
		if (pass)
			break;
		/* a process killed here (tested through NOVACRON_FAIL_AT): nothing undone */
		if (nc_driver_fault("secret value", err) < 0) {
			virSecretFree(s);
			free(pending);
			return -1;
		}
		r = virSecretSetValue(s, def->value, def->len, 0);
		if (r < 0) {
			nc_err_set(err, "cannot set the value of secret %s: %s", def->usage, virGetLastErrorMessage());
			/* no secret that looks right without its value: the next plan defines it again */
			virSecretUndefine(s);
			virSecretFree(s);
			free(pending);
			return -1;
		}
		virSecretFree(s);
	}
	free(pending);
	virSecretFree(s);
	return 0;
}
