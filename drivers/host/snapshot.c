/*
 * snapshot.c - snapshots of libvirt domains (driver.h snap_create,
 * snap_delete, snap_revert; the snapshots observe and lookup report), and
 * how a simulated host keeps them in its state file.
 *
 * Disks are qcow2 volumes, snapshotted inside the image (libvirt "internal"
 * snapshots): libvirt 9.0 can revert those, not external ones.  What QEMU and
 * libvirt 9.0 do with them:
 *   shut-off domain  qemu-img snapshot -c on every qcow2 disk (the seed CD-ROM
 *                    is read-only and left out): the disks alone; reverting
 *                    leaves the domain shut off.
 *   running domain   QEMU's savevm: the disks and the guest's memory, taken
 *                    with the guest paused for as long as its RAM takes to
 *                    write.  libvirt 9.0 has no internal disk-only snapshot
 *                    of a running guest (disk-only ones are external, which
 *                    it cannot revert), so a running guest's snapshot holds
 *                    its memory whether or not memory was asked for, and
 *                    reverting to it resumes the guest where it was.
 * Quiesce: a snapshot with memory needs no freeze (disk and memory are one
 * consistent point; a freeze would be saved in the memory and come back
 * frozen on revert), and a shut-off guest has nothing to freeze, so for
 * qcow2 disks *quiesced reports false and the description says why.
 *
 * The test driver behind sim:// supports the same calls (in memory); its
 * state file keeps each snapshot as a <test:domainsnapshot> element of its
 * domain (the test driver's own format), written by nc_sim_snaps_save.
 */
#include "snapshot.h"

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

#include "../../spec/util.h"
#include "../storage/storage.h"
#include "../xml.h"


static int fail(struct nc_err *err, const char *what)
{
	const char *m = virGetLastErrorMessage();

	nc_err_set(err, "%s: %s", what, m && *m ? m : "unknown libvirt error");
	return -1;
}

static xmlDocPtr parse(const char *xml)
{
	return xmlReadMemory(xml, (int)strlen(xml), "snapshot.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static int snap_cmp(const void *a, const void *b)
{
	const struct nc_dom_snap *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* fills out->snaps from the domain's snapshots (a virDomainPtr) */
int nc_host_snaps_read(void *dom, struct nc_domain *out, struct nc_err *err)
{
	virDomainSnapshotPtr *snaps = NULL;
	int n, i, ret = -1;

	n = virDomainListAllSnapshots((virDomainPtr)dom, &snaps, 0);
	if (n < 0) {
		/* a driver without snapshots has none */
		if (virGetLastErrorCode() == VIR_ERR_NO_SUPPORT)
			return 0;
		return fail(err, "cannot list snapshots");
	}
	out->snaps = nc_xcalloc((size_t)(n ? n : 1), sizeof(*out->snaps));
	for (i = 0; i < n; i++) {
		struct nc_dom_snap *s = &out->snaps[out->nsnaps];
		char *xml = virDomainSnapshotGetXMLDesc(snaps[i], 0);
		xmlDocPtr doc;
		xmlNodePtr root, k, disk;
		char *t;

		if (!xml) {
			if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_SNAPSHOT)
				continue;
			fail(err, "cannot read snapshot XML");
			goto out;
		}
		doc = parse(xml);
		free(xml);
		if (!doc || !(root = xmlDocGetRootElement(doc))) {
			xmlFreeDoc(doc);
			nc_err_set(err, "snapshot XML does not parse");
			goto out;
		}
		s->name = nc_xstrdup(virDomainSnapshotGetName(snaps[i]));
		s->description = nc_xml_text(nc_xml_first(root, "description"));
		s->state = nc_xml_text(nc_xml_first(root, "state"));
		if (!s->state)
			s->state = nc_xstrdup("unknown");
		t = nc_xml_text(nc_xml_first(root, "creationTime"));
		s->created = t ? strtoll(t, NULL, 10) : 0;
		free(t);
		s->managed = s->description && strncmp(s->description, NC_SNAP_MARK, strlen(NC_SNAP_MARK)) == 0;
		s->memory = strcmp(s->state, "running") == 0 || strcmp(s->state, "paused") == 0;
		if (strcmp(s->state, "disk-snapshot") == 0)
			s->external = true;
		for (disk = nc_xml_first(nc_xml_first(root, "disks"), "disk"); disk; disk = disk->next) {
			char *how;

			if (!nc_xml_is(disk, "disk"))
				continue;
			how = nc_xml_attr(disk, "snapshot");
			if (how && strcmp(how, "external") == 0)
				s->external = true;
			free(how);
		}
		k = nc_xml_first(root, "memory");
		if (k) {
			char *how = nc_xml_attr(k, "snapshot");

			if (how && strcmp(how, "external") == 0)
				s->external = true;
			free(how);
		}
		s->current = virDomainSnapshotIsCurrent(snaps[i], 0) == 1;
		xmlFreeDoc(doc);
		out->nsnaps++;
	}
	if (out->nsnaps > 1)
		qsort(out->snaps, out->nsnaps, sizeof(*out->snaps), snap_cmp);
	ret = 0;
out:
	for (i = 0; i < n; i++)
		virDomainSnapshotFree(snaps[i]);
	free(snaps);
	return ret;
}

/*
 * sim: each snapshot of dom as a <test:domainsnapshot> child of root (the
 * domain element being saved), holding what <domainsnapshot> holds, with
 * <active> 1 on the current one and 0 on others, as the test driver reads it back.
 */
int nc_sim_snaps_save(void *dom, xmlNodePtr root, xmlNsPtr ns, struct nc_err *err)
{
	virDomainSnapshotPtr *snaps = NULL;
	int n, i, ret = -1;

	n = virDomainListAllSnapshots((virDomainPtr)dom, &snaps, VIR_DOMAIN_SNAPSHOT_LIST_TOPOLOGICAL);
	if (n < 0)
		return virGetLastErrorCode() == VIR_ERR_NO_DOMAIN ? 0 : fail(err, "cannot list snapshots");
	for (i = 0; i < n; i++) {
		char *xml = virDomainSnapshotGetXMLDesc(snaps[i], VIR_DOMAIN_SNAPSHOT_XML_SECURE);
		xmlDocPtr doc;
		xmlNodePtr el, k;

		if (!xml || !(doc = parse(xml))) {
			free(xml);
			fail(err, "cannot save simulated snapshot");
			goto out;
		}
		free(xml);
		el = xmlNewChild(root, ns, BAD_CAST "domainsnapshot", NULL);
		for (k = xmlDocGetRootElement(doc)->children; k; k = k->next)
			xmlAddChild(el, xmlDocCopyNode(k, root->doc, 1));
		/* no namespace (xmlNewChild would give it the test: one of el) */
		xmlAddChild(el, xmlNewDocNode(root->doc, NULL, BAD_CAST "active",
					      BAD_CAST(virDomainSnapshotIsCurrent(snaps[i], 0) == 1 ? "1" : "0")));
		xmlFreeDoc(doc);
	}
	ret = 0;
out:
	for (i = 0; i < n; i++)
		virDomainSnapshotFree(snaps[i]);
	free(snaps);
	return ret;
}

static virDomainPtr find(struct nc_host_conn *conn, const char *name, struct nc_err *err)
{
	virConnectPtr c = nc_libvirt_conn(conn);
	virDomainPtr d;

	if (!c) {
		nc_err_set(err, "host driver has no snapshots");
		return NULL;
	}
	d = virDomainLookupByName(c, name);
	if (!d)
		fail(err, "cannot find domain");
	return d;
}

int nc_host_snap_create(struct nc_host_conn *conn, const char *name, const struct nc_snap_def *def,
			bool *quiesced, struct nc_err *err)
{
	virDomainPtr d;
	virDomainSnapshotPtr s;
	xmlDocPtr doc;
	xmlNodePtr root;
	char *xml;

	*quiesced = false;
	if (nc_driver_fault("snapshot-create", err) < 0)
		return -1;
	if (!(d = find(conn, name, err)))
		return -1;
	doc = xmlNewDoc(BAD_CAST "1.0");
	root = xmlNewNode(NULL, BAD_CAST "domainsnapshot");
	nc_xml_child(root, "name", def->name);
	if (def->description)
		nc_xml_child(root, "description", def->description);
	xml = nc_xml_dump(doc, root);
	/* internal: the disks inside their qcow2 images, with the memory of a running guest */
	s = virDomainSnapshotCreateXML(d, xml, VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC);
	free(xml);
	if (!s) {
		char *what = nc_xasprintf("cannot take snapshot %s of %s", def->name, name);

		fail(err, what);
		free(what);
		virDomainFree(d);
		return -1;
	}
	virDomainSnapshotFree(s);
	virDomainFree(d);
	return 0;
}

static virDomainSnapshotPtr find_snap(virDomainPtr d, const char *snap, struct nc_err *err)
{
	virDomainSnapshotPtr s = virDomainSnapshotLookupByName(d, snap, 0);

	if (!s)
		fail(err, "cannot find snapshot");
	return s;
}

int nc_host_snap_delete(struct nc_host_conn *conn, const char *name, const char *snap, struct nc_err *err)
{
	virDomainPtr d;
	virDomainSnapshotPtr s;
	int ret = 0;

	if (nc_driver_fault("snapshot-delete", err) < 0)
		return -1;
	if (!(d = find(conn, name, err)))
		return -1;
	s = virDomainSnapshotLookupByName(d, snap, 0);
	if (!s) {
		/* already gone: a pass cut short after the delete */
		ret = virGetLastErrorCode() == VIR_ERR_NO_DOMAIN_SNAPSHOT ? 0 : fail(err, "cannot find snapshot");
	} else {
		/* its children are kept: they hold their own data */
		if (virDomainSnapshotDelete(s, 0) < 0)
			ret = fail(err, "cannot delete snapshot");
		virDomainSnapshotFree(s);
	}
	virDomainFree(d);
	return ret;
}

int nc_host_snap_revert(struct nc_host_conn *conn, const char *name, const char *snap, struct nc_err *err)
{
	virDomainPtr d;
	virDomainSnapshotPtr s;
	int ret = 0;

	if (nc_driver_fault("snapshot-revert", err) < 0)
		return -1;
	if (!(d = find(conn, name, err)))
		return -1;
	if (!(s = find_snap(d, snap, err))) {
		virDomainFree(d);
		return -1;
	}
	if (virDomainRevertToSnapshot(s, 0) < 0)
		ret = fail(err, "cannot revert to snapshot");
	virDomainSnapshotFree(s);
	virDomainFree(d);
	return ret;
}
